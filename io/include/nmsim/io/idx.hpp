#pragma once
// IDX files (the format of MNIST and Fashion-MNIST): a 4-byte magic number 0x00 0x00 T D, where
// T is the element type (0x08 = unsigned byte, the only type read here) and D the number of
// dimensions, then D big-endian uint32 sizes, then the elements in row-major order.
//   images: magic 0x00000803 (2051), sizes [count, rows, cols], one byte per pixel (0 = background)
//   labels: magic 0x00000801 (2049), sizes [count], one byte per label
// Files may be gzip-compressed (Debian's dataset-fashion-mnist ships them as *.gz); a name that
// does not exist is also tried with ".gz" appended, so "train-images-idx3-ubyte" finds either.
//
// Every problem with a file (missing, unreadable, wrong magic, sizes that do not match the data,
// images and labels of different counts, a label beyond the expected classes) throws
// nmsim::ConfigError naming the file: datasets are user input, so programs exit with code 2.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nmsim::io {

struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, image-major, then row-major
  std::size_t pixels_per_image() const { return rows * cols; }
  std::span<const std::uint8_t> image(std::size_t i) const {
    return {pixels.data() + i * pixels_per_image(), pixels_per_image()};
  }
};

/// Read an IDX image file (magic 2051). `max_count` limits how many images are read (from the
/// start); the header must still announce at least as many bytes as the file holds for them.
IdxImages read_idx_images(const std::string& path, std::size_t max_count = SIZE_MAX);
/// Read an IDX label file (magic 2049), at most `max_count` labels.
std::vector<std::uint8_t> read_idx_labels(const std::string& path, std::size_t max_count = SIZE_MAX);

/// A labelled split of an MNIST-like dataset: images and labels of equal count, labels < 10.
struct LabelledImages {
  IdxImages images;
  std::vector<std::uint8_t> labels;
};

/// Where Debian's dataset-fashion-mnist package installs its files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
/// Fashion-MNIST's ten class names (label 0..9).
const std::vector<std::string>& fashion_mnist_classes();

/// Read split "train" (60000 images) or "t10k" (10000) of an MNIST-like dataset from `dir`
/// (<split>-images-idx3-ubyte[.gz], <split>-labels-idx1-ubyte[.gz]). When the directory or a file
/// is missing, the error says to install the Debian package dataset-fashion-mnist.
LabelledImages read_mnist_split(const std::string& dir, const std::string& split, std::size_t max_count = SIZE_MAX);

/// Write an IDX file of unsigned bytes (tests, small fixtures), gzip-compressed if `gzip`.
void write_idx_u8(const std::string& path, const std::vector<std::uint32_t>& sizes, std::span<const std::uint8_t> data,
                  bool gzip = false);

}  // namespace nmsim::io
