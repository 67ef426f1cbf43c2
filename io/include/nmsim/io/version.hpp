#pragma once
namespace nmsim::io {
/// The nmsim version string ("major.minor.patch").
const char* version();
}  // namespace nmsim::io
