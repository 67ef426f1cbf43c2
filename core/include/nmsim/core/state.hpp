#pragma once
// State serialisation for checkpoint and resume (docs/checkpoint.md).
//
// A component writes its dynamic state as named, typed arrays into a StateWriter and reads it
// back from a StateReader; the storage (HDF5 in io/, memory here) is not its business. Names are
// relative paths ("v", "rings/0"); group() scopes the names of one component under its own path.
// What a component writes must not depend on the thread count: per-thread data is written in a
// canonical order (e.g. synapses by source, target, creation) and redistributed on reading, so
// a run may be resumed with any --threads.
// Readers check every size: a missing array or one of the wrong type or length is a
// StateError naming the path, never a silent partial restore.
#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nmsim/core/error.hpp"

namespace nmsim {

/// A checkpoint that does not fit the network it is restored into (wrong layout, sizes, types)
/// or a component that cannot be checkpointed. Bad input: the program exits with code 2.
class StateError : public ConfigError {
 public:
  StateError(const std::string& path, const std::string& message) : ConfigError({}, path, message) {}
};

/// Element types a state array may have.
enum class StateType : std::uint8_t { f64, i64, u64, i32, u32, u16, u8 };

template <class T>
constexpr StateType state_type_of() {
  if constexpr (std::is_same_v<T, double>) return StateType::f64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return StateType::i64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return StateType::u64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return StateType::i32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return StateType::u32;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return StateType::u16;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return StateType::u8;
  else static_assert(sizeof(T) == 0, "unsupported state element type");
}
const char* state_type_name(StateType t);
std::size_t state_type_size(StateType t);

class StateWriter {
 public:
  virtual ~StateWriter() = default;

  template <class T>
  void write(std::string_view name, std::span<const T> values) {
    put(path(name), state_type_of<T>(), values.data(), values.size());
  }
  template <class T>
  void write(std::string_view name, const std::vector<T>& values) {
    write(name, std::span<const T>(values));
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  void scalar(std::string_view name, T value) {
    put(path(name), state_type_of<T>(), &value, 1);
  }
  void text(std::string_view name, std::string_view s) {
    put(path(name), StateType::u8, s.data(), s.size());
  }

  /// Names written while the returned scope lives go under `name`/ (nestable).
  class Scope {
   public:
    Scope(StateWriter& w, std::string_view name) : w_(w), saved_(w.prefix_) { w.prefix_ = w.path(name) + "/"; }
    ~Scope() { w_.prefix_ = saved_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    StateWriter& w_;
    std::string saved_;
  };
  [[nodiscard]] Scope group(std::string_view name) { return Scope(*this, name); }
  std::string path(std::string_view name) const { return prefix_ + std::string(name); }

 protected:
  /// Store `n` elements of type `type` at the absolute path `path` (overwrites).
  virtual void put(const std::string& path, StateType type, const void* data, std::size_t n) = 0;

 private:
  std::string prefix_;
};

class StateReader {
 public:
  virtual ~StateReader() = default;

  bool has(std::string_view name) const { return exists(path(name)); }
  /// The whole array (any length).
  template <class T>
  std::vector<T> read(std::string_view name) const {
    const std::string p = path(name);
    std::vector<T> out(length(p, state_type_of<T>()));
    if (!out.empty()) get(p, state_type_of<T>(), out.data(), out.size());
    return out;
  }
  /// Exactly out.size() elements (StateError otherwise).
  template <class T>
  void read_into(std::string_view name, std::span<T> out) const {
    const std::string p = path(name);
    const std::size_t n = length(p, state_type_of<T>());
    if (n != out.size()) size_mismatch(p, out.size(), n);
    if (n) get(p, state_type_of<T>(), out.data(), n);
  }
  template <class T>
  void read_into(std::string_view name, std::vector<T>& out) const {
    read_into(name, std::span<T>(out));
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  T scalar(std::string_view name) const {
    T v{};
    read_into(name, std::span<T>(&v, 1));
    return v;
  }
  std::string text(std::string_view name) const {
    const auto b = read<std::uint8_t>(name);
    return std::string(b.begin(), b.end());
  }
  /// Throw StateError("<prefix><name>", message).
  [[noreturn]] void fail(std::string_view name, const std::string& message) const { throw StateError(path(name), message); }

  class Scope {
   public:
    Scope(const StateReader& r, std::string_view name) : r_(r), saved_(r.prefix_) { r.prefix_ = r.path(name) + "/"; }
    ~Scope() { r_.prefix_ = saved_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const StateReader& r_;
    std::string saved_;
  };
  [[nodiscard]] Scope group(std::string_view name) const { return Scope(*this, name); }
  std::string path(std::string_view name) const { return prefix_ + std::string(name); }

 protected:
  virtual bool exists(const std::string& path) const = 0;
  /// Number of elements at `path`; StateError when missing or of another type.
  virtual std::size_t length(const std::string& path, StateType type) const = 0;
  virtual void get(const std::string& path, StateType type, void* out, std::size_t n) const = 0;
  [[noreturn]] static void size_mismatch(const std::string& path, std::size_t expected, std::size_t found);

 private:
  mutable std::string prefix_;
};

/// In-memory state (tests, programs that keep a snapshot of a simulation in memory).
class MemoryState : public StateWriter, public StateReader {
 public:
  struct Entry {
    StateType type;
    std::vector<unsigned char> bytes;
  };
  const std::map<std::string, Entry>& entries() const { return entries_; }
  /// Add or replace an array given as raw bytes (loading a stored state).
  void insert(const std::string& path, StateType type, std::vector<unsigned char> bytes) {
    entries_[path] = Entry{type, std::move(bytes)};
  }

 protected:
  void put(const std::string& path, StateType type, const void* data, std::size_t n) override;
  bool exists(const std::string& path) const override;
  std::size_t length(const std::string& path, StateType type) const override;
  void get(const std::string& path, StateType type, void* out, std::size_t n) const override;

 private:
  std::map<std::string, Entry> entries_;
};

/// Discards everything: used to ask every component whether it can be checkpointed at all.
class NullStateWriter : public StateWriter {
 protected:
  void put(const std::string&, StateType, const void*, std::size_t) override {}
};

}  // namespace nmsim
