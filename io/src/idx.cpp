#include "nmsim/io/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::io {

namespace {

constexpr std::uint32_t kImagesMagic = 0x00000803;
constexpr std::uint32_t kLabelsMagic = 0x00000801;
constexpr const char* kInstallHint = "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw ConfigError(SourcePos{path, 0, 0}, "", message);
}

// A gzip or plain file read through zlib (gzread passes plain files through unchanged).
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    if (!exists(path_) && exists(path_ + ".gz")) path_ += ".gz";
    if (!exists(path_)) fail(path, fmt::format("expected an IDX file, found no such file ({})", kInstallHint));
    f_ = gzopen(path_.c_str(), "rb");
    if (!f_) fail(path_, "expected a readable IDX file, found one that cannot be opened");
  }
  ~Reader() {
    if (f_) gzclose(f_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  const std::string& path() const { return path_; }

  /// Read up to n bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      const int got = gzread(f_, out + done, want);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        fail(path_, fmt::format("expected IDX data, found a read error ({})", msg ? msg : "unknown"));
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }
  std::uint32_t u32(const char* what) {
    std::uint8_t b[4];
    if (read(b, 4) != 4) fail(path_, fmt::format("expected a 4-byte {}, found the end of the file", what));
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  }
  bool at_end() {
    std::uint8_t b;
    return read(&b, 1) == 0;
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

// Header of an unsigned-byte IDX file with `dims` dimensions: checks the magic, returns sizes.
std::vector<std::uint32_t> header(Reader& r, std::uint32_t magic, const char* kind) {
  const std::uint32_t m = r.u32("magic number");
  if (m != magic)
    fail(r.path(), fmt::format("expected the magic number of an IDX {} file (0x{:08x}), found 0x{:08x}", kind, magic, m));
  std::vector<std::uint32_t> sizes(magic & 0xffu);
  for (auto& s : sizes) s = r.u32("dimension size");
  return sizes;
}

// Read `bytes` bytes of payload; `total` is what the header announced (to detect trailing data).
void payload(Reader& r, std::uint8_t* out, std::size_t bytes, std::size_t total, const char* unit, std::size_t unit_bytes) {
  const std::size_t got = r.read(out, bytes);
  if (got != bytes)
    fail(r.path(), fmt::format("expected {} {}s as the header says, found the data ending after {}", bytes / unit_bytes,
                               unit, got / unit_bytes));
  if (bytes == total && !r.at_end())
    fail(r.path(), fmt::format("expected {} {}s as the header says, found more data after them", total / unit_bytes, unit));
}

}  // namespace

IdxImages read_idx_images(const std::string& path, std::size_t max_count) {
  Reader r(path);
  const auto sizes = header(r, kImagesMagic, "images");
  IdxImages im;
  im.rows = sizes[1];
  im.cols = sizes[2];
  if (im.rows == 0 || im.cols == 0)
    fail(r.path(), fmt::format("expected images of at least 1 x 1 pixels, found {} x {}", im.rows, im.cols));
  im.count = std::min<std::size_t>(sizes[0], max_count);
  const std::size_t per = im.rows * im.cols;
  im.pixels.resize(im.count * per);
  payload(r, im.pixels.data(), im.pixels.size(), std::size_t{sizes[0]} * per, "image", per);
  return im;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t max_count) {
  Reader r(path);
  const auto sizes = header(r, kLabelsMagic, "labels");
  std::vector<std::uint8_t> labels(std::min<std::size_t>(sizes[0], max_count));
  payload(r, labels.data(), labels.size(), sizes[0], "label", 1);
  return labels;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

LabelledImages read_mnist_split(const std::string& dir, const std::string& split, std::size_t max_count) {
  if (split != "train" && split != "t10k")
    throw ConfigError({}, "split", fmt::format("expected \"train\" or \"t10k\", found \"{}\"", split));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(dir, fmt::format("expected the Fashion-MNIST directory, found no such directory ({})", kInstallHint));
  LabelledImages out;
  const std::string images = dir + "/" + split + "-images-idx3-ubyte";
  const std::string labels = dir + "/" + split + "-labels-idx1-ubyte";
  out.images = read_idx_images(images, max_count);
  out.labels = read_idx_labels(labels, max_count);
  if (out.labels.size() != out.images.count)
    fail(labels, fmt::format("expected as many labels as {} has images ({}), found {}", images, out.images.count,
                             out.labels.size()));
  for (std::size_t i = 0; i < out.labels.size(); ++i)
    if (out.labels[i] > 9) fail(labels, fmt::format("expected labels 0..9, found {} at index {}", out.labels[i], i));
  return out;
}

void write_idx_u8(const std::string& path, const std::vector<std::uint32_t>& sizes, std::span<const std::uint8_t> data,
                  bool gzip) {
  std::size_t n = 1;
  for (auto s : sizes) n *= s;
  if (sizes.empty() || sizes.size() > 255 || n != data.size())
    throw ConfigError({}, "write_idx_u8", fmt::format("expected data of the size the dimensions give ({}), found {}", n, data.size()));
  std::vector<std::uint8_t> bytes{0, 0, 0x08, static_cast<std::uint8_t>(sizes.size())};
  for (auto s : sizes)
    for (int b = 3; b >= 0; --b) bytes.push_back(static_cast<std::uint8_t>(s >> (8 * b)));
  bytes.insert(bytes.end(), data.begin(), data.end());
  // zlib writes plain files too (mode "wbT"), so one path serves both.
  gzFile f = gzopen(path.c_str(), gzip ? "wb" : "wbT");
  if (!f) throw RuntimeError(fmt::format("{}: cannot be written", path));
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const auto want = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - done, 1u << 30));
    const int put = gzwrite(f, bytes.data() + done, want);
    ok = put > 0;
    done += ok ? static_cast<std::size_t>(put) : 0;
  }
  if (gzclose(f) != Z_OK || !ok) throw RuntimeError(fmt::format("{}: write failed", path));
}

}  // namespace nmsim::io
