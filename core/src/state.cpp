#include "nmsim/core/state.hpp"

#include <cstring>

#include <fmt/format.h>

namespace nmsim {

const char* state_type_name(StateType t) {
  switch (t) {
    case StateType::f64: return "float64";
    case StateType::i64: return "int64";
    case StateType::u64: return "uint64";
    case StateType::i32: return "int32";
    case StateType::u32: return "uint32";
    case StateType::u16: return "uint16";
    case StateType::u8: return "uint8";
  }
  return "?";
}

std::size_t state_type_size(StateType t) {
  switch (t) {
    case StateType::f64:
    case StateType::i64:
    case StateType::u64: return 8;
    case StateType::i32:
    case StateType::u32: return 4;
    case StateType::u16: return 2;
    case StateType::u8: return 1;
  }
  return 1;
}

void StateReader::size_mismatch(const std::string& path, std::size_t expected, std::size_t found) {
  throw StateError(path, fmt::format("expected {} values, found {} (the checkpoint was written for another network)",
                                     expected, found));
}

void MemoryState::put(const std::string& path, StateType type, const void* data, std::size_t n) {
  Entry e{type, std::vector<unsigned char>(n * state_type_size(type))};
  if (n) std::memcpy(e.bytes.data(), data, e.bytes.size());
  entries_[path] = std::move(e);
}

bool MemoryState::exists(const std::string& path) const { return entries_.count(path) != 0; }

std::size_t MemoryState::length(const std::string& path, StateType type) const {
  const auto it = entries_.find(path);
  if (it == entries_.end()) throw StateError(path, "missing from the saved state");
  if (it->second.type != type)
    throw StateError(path, fmt::format("expected {} values, found {}", state_type_name(type),
                                       state_type_name(it->second.type)));
  return it->second.bytes.size() / state_type_size(type);
}

void MemoryState::get(const std::string& path, StateType type, void* out, std::size_t n) const {
  const Entry& e = entries_.at(path);
  std::memcpy(out, e.bytes.data(), std::min(e.bytes.size(), n * state_type_size(type)));
}

}  // namespace nmsim
