// IDX reader (io/idx.hpp): round trip of small files written here (plain and gzip), limits,
// and every malformed or missing file giving a ConfigError that names it.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "nmsim/core/error.hpp"
#include "nmsim/io/idx.hpp"

using namespace nmsim;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("nmsim_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// 3 images of 2 x 4 pixels: pixel p of image i = 10 i + p.
std::vector<std::uint8_t> pixels3() {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 8; ++p) px.push_back(static_cast<std::uint8_t>(10 * i + p));
  return px;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("idx: images and labels round trip, plain and gzip", "[idx]") {
  TempDir d;
  const auto px = pixels3();
  const std::vector<std::uint8_t> lab{7, 0, 9};
  for (bool gz : {false, true}) {
    const std::string ext = gz ? ".gz" : "";
    io::write_idx_u8(d / ("im" + ext), {3, 2, 4}, px, gz);
    io::write_idx_u8(d / ("lb" + ext), {3}, lab, gz);
    const io::IdxImages im = io::read_idx_images(d / ("im" + ext));
    CHECK(im.count == 3);
    CHECK(im.rows == 2);
    CHECK(im.cols == 4);
    CHECK(im.pixels == px);
    CHECK(im.image(2)[5] == 25);
    CHECK(io::read_idx_labels(d / ("lb" + ext)) == lab);
  }
  // gzip really compressed: the first two bytes are gzip's magic 1f 8b, not IDX's 00 00.
  std::ifstream f(d / "im.gz", std::ios::binary);
  unsigned char b[2];
  f.read(reinterpret_cast<char*>(b), 2);
  CHECK(b[0] == 0x1f);
  CHECK(b[1] == 0x8b);
}

TEST_CASE("idx: a name without .gz finds the gzip file and max_count reads a prefix", "[idx]") {
  TempDir d;
  const auto px = pixels3();
  io::write_idx_u8(d / "train-images-idx3-ubyte.gz", {3, 2, 4}, px, true);
  io::write_idx_u8(d / "train-labels-idx1-ubyte.gz", {3}, std::vector<std::uint8_t>{1, 2, 3}, true);
  const io::IdxImages im = io::read_idx_images(d / "train-images-idx3-ubyte", 2);
  CHECK(im.count == 2);
  CHECK(im.pixels == std::vector<std::uint8_t>(px.begin(), px.begin() + 16));
  const io::LabelledImages s = io::read_mnist_split(d.path.string(), "train", 2);
  CHECK(s.images.count == 2);
  CHECK(s.labels == std::vector<std::uint8_t>{1, 2});
  CHECK(io::read_mnist_split(d.path.string(), "train").labels.size() == 3);
}

TEST_CASE("idx: missing files and directories name the Debian package", "[idx]") {
  TempDir d;
  const std::string e1 = error_of([&] { io::read_idx_images(d / "nothing"); });
  CHECK(e1.find(d / "nothing") != std::string::npos);
  CHECK(e1.find("dataset-fashion-mnist") != std::string::npos);
  const std::string e2 = error_of([&] { io::read_mnist_split(d / "no-dir", "t10k"); });
  CHECK(e2.find("no such directory") != std::string::npos);
  CHECK(e2.find("dataset-fashion-mnist") != std::string::npos);
  CHECK(error_of([&] { io::read_mnist_split(d.path.string(), "test"); }).find("\"train\" or \"t10k\"") != std::string::npos);
}

TEST_CASE("idx: malformed files are rejected with what was expected and found", "[idx]") {
  TempDir d;
  const auto px = pixels3();
  // Labels read as images: wrong magic.
  io::write_idx_u8(d / "lb", {3}, std::vector<std::uint8_t>{1, 2, 3});
  const std::string e = error_of([&] { io::read_idx_images(d / "lb"); });
  CHECK(e.find("0x00000803") != std::string::npos);
  CHECK(e.find("0x00000801") != std::string::npos);
  // Data shorter than the header announces (truncated download).
  io::write_idx_u8(d / "im", {3, 2, 4}, px);
  const auto full = fs::file_size(d / "im");
  fs::resize_file(d / "im", full - 3);
  CHECK(error_of([&] { io::read_idx_images(d / "im"); }).find("ending after 2") != std::string::npos);
  // Trailing bytes after the announced data.
  io::write_idx_u8(d / "lb2", {2}, std::vector<std::uint8_t>{1, 2});
  {
    std::ofstream f(d / "lb2", std::ios::binary | std::ios::app);
    f.put(5);
  }
  CHECK(error_of([&] { io::read_idx_labels(d / "lb2"); }).find("more data") != std::string::npos);
  // A file too short for its header.
  write_bytes(d / "tiny", {0, 0});
  CHECK(error_of([&] { io::read_idx_labels(d / "tiny"); }).find("magic number") != std::string::npos);
  // A corrupt gzip stream.
  write_bytes(d / "bad.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK_THROWS_AS(io::read_idx_labels(d / "bad.gz"), ConfigError);
  // Images and labels of different counts; labels beyond 9.
  io::write_idx_u8(d / "train-images-idx3-ubyte", {3, 2, 4}, px);
  io::write_idx_u8(d / "train-labels-idx1-ubyte", {2}, std::vector<std::uint8_t>{1, 2});
  CHECK(error_of([&] { io::read_mnist_split(d.path.string(), "train"); }).find("as many labels") != std::string::npos);
  io::write_idx_u8(d / "train-labels-idx1-ubyte", {3}, std::vector<std::uint8_t>{1, 12, 2});
  CHECK(error_of([&] { io::read_mnist_split(d.path.string(), "train"); }).find("found 12 at index 1") != std::string::npos);
}

TEST_CASE("idx: the installed Fashion-MNIST test split, when the package is present", "[idx]") {
  if (!fs::exists(std::string(io::kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: nothing to check");
    return;
  }
  const io::LabelledImages s = io::read_mnist_split(io::kFashionMnistDir, "t10k");
  CHECK(s.images.count == 10000);
  CHECK(s.images.rows == 28);
  CHECK(s.images.cols == 28);
  // The test split holds 1000 images of each class.
  std::vector<int> per(10, 0);
  for (auto l : s.labels) ++per[l];
  for (int c = 0; c < 10; ++c) CHECK(per[static_cast<std::size_t>(c)] == 1000);
}
