// `nmsim sweep`: runs the planned runs as child processes, --jobs at a time, and tabulates them
// (docs/sweep.md). Each child is this program itself (/proc/self/exe) running
//   nmsim run CONFIG --set ... --seed S --threads T -o OUTDIR/run_XXXX.h5 --quiet
// with stdout and stderr in OUTDIR/logs/, so a run that crashes takes nothing else down.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"
#include "sweep.hpp"

namespace nmsim::apps {

namespace {

namespace fs = std::filesystem;
using io::sweep::Manifest;
using io::sweep::PlannedRun;
using io::sweep::RunOutcome;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_signals = 0;  // SIGINT/SIGTERM received so far
extern "C" void on_sweep_signal(int) { g_signals = g_signals + 1; }

[[noreturn]] void bad(const std::string& where, const std::string& msg) { throw ConfigError({where, 0, 0}, "", msg); }

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeError("cannot find this program's own executable (/proc/self/exe)");
  return p.string();
}

// The first non-empty line of a run's stderr, without the "nmsim: error: " prefix.
std::string first_error_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A progress line redrawn with \r keeps only its last state.
    if (const auto cr = line.rfind('\r'); cr != std::string::npos) line = line.substr(cr + 1);
    const std::string prefix = "nmsim: error: ";
    if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
    return line;
  }
  return {};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos && (s.empty() || (s.front() != ' ' && s.back() != ' ')))
    return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number(double x) { return std::isfinite(x) ? fmt::format("{:.17g}", x) : std::string(); }

struct Job {
  pid_t pid = -1;
  std::size_t run = 0;
  Clock::time_point start;
};

class Sweep {
 public:
  Sweep(SweepArgs args, Manifest plan) : a_(std::move(args)), m_(std::move(plan)) {}

  int run();

 private:
  std::string path(const std::string& name) const { return (fs::path(a_.outdir) / name).string(); }
  std::string log_path(const PlannedRun& r, const char* ext) const {
    return (fs::path(a_.outdir) / "logs" / fs::path(r.file).replace_extension(ext)).string();
  }
  void open_outdir();
  void launch(std::size_t i);
  void reaped(pid_t pid, int wstatus);
  void forward(int sig);
  void progress(bool force);
  void write_tables();
  int finish();

  SweepArgs a_;
  Manifest m_;
  std::string exe_;
  int lock_fd_ = -1;
  int jobs_ = 1, threads_ = 1;
  std::vector<RunOutcome> out_;
  std::vector<std::size_t> todo_;  // runs to launch, in id order
  std::size_t next_ = 0;           // next index into todo_
  std::vector<Job> running_;
  std::size_t finished_now_ = 0, failed_ = 0, reused_ = 0;
  Clock::time_point t0_ = Clock::now(), last_draw_{};
  bool tty_ = false, drawn_ = false;
  int forwarded_ = 0;
  std::string event_;  // the last run that finished, for the progress line
};

void Sweep::open_outdir() {
  std::error_code ec;
  const fs::path dir(a_.outdir);
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) bad(a_.outdir, "exists and is not a directory");
  fs::create_directories(dir / "logs", ec);
  if (ec) bad(a_.outdir, fmt::format("cannot create the output directory ({})", ec.message()));
  lock_fd_ = ::open(path(".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    bad(a_.outdir, "another nmsim sweep is running in this directory");
  const std::string manifest = path("manifest.toml");
  if (fs::exists(manifest, ec)) {
    const Manifest before = io::sweep::read_manifest(manifest);
    const std::string diff = io::sweep::plan_difference(before, m_);
    if (!diff.empty())
      bad(manifest, fmt::format("this directory holds a different sweep: {}; use another -o OUTDIR (or remove "
                                "this one) for a new sweep",
                                diff));
  } else {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".h5")
        bad(a_.outdir, "holds .h5 files but no sweep manifest; use an empty or new directory");
    io::sweep::write_manifest(manifest, m_);
  }
}

void Sweep::launch(std::size_t i) {
  const PlannedRun& r = m_.runs[i];
  const std::string file = path(r.file);
  std::error_code ec;
  fs::remove(file, ec);  // an incomplete or stale file is redone from scratch
  std::vector<std::string> args = {exe_, "run", m_.config};
  for (const auto& s : m_.sets) args.insert(args.end(), {"--set", s});
  for (std::size_t g = 0; g < m_.grids.size(); ++g) args.insert(args.end(), {"--set", m_.grids[g].key + "=" + r.values[g]});
  args.insert(args.end(), {"--seed", std::to_string(r.seed), "--threads", std::to_string(threads_), "-o", file,
                           "--quiet"});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string out_log = log_path(r, ".out"), err_log = log_path(r, ".err");
  const pid_t parent = getpid();
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) throw RuntimeError(fmt::format("cannot start run {}: fork failed ({})", r.id, std::strerror(errno)));
  if (pid == 0) {
    // Child: its own process group (a terminal's Ctrl-C reaches the sweep, which forwards it),
    // dies with the sweep, default signal handling, output to the logs.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(130);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const int o = ::open(out_log.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    const int e = ::open(err_log.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (o < 0 || e < 0) _exit(126);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "nmsim: error: cannot start %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before any signal is sent
  running_.push_back({pid, i, Clock::now()});
  out_[i] = RunOutcome{};
  out_[i].status = "running";
}

void Sweep::reaped(pid_t pid, int wstatus) {
  auto it = std::find_if(running_.begin(), running_.end(), [&](const Job& j) { return j.pid == pid; });
  if (it == running_.end()) return;
  const std::size_t i = it->run;
  const double elapsed = std::chrono::duration<double>(Clock::now() - it->start).count();
  running_.erase(it);
  const PlannedRun& r = m_.runs[i];
  RunOutcome& o = out_[i];
  o.elapsed = elapsed;
  if (WIFEXITED(wstatus)) {
    o.exit_code = WEXITSTATUS(wstatus);
  } else {
    o.exit_code = 128 + WTERMSIG(wstatus);
  }
  std::string why;
  const bool complete = o.exit_code == 0 && io::sweep::run_is_complete(path(r.file), m_.run_sets(r), &why);
  if (complete) {
    o.status = "complete";
  } else if (o.exit_code == 130 && forwarded_ > 0) {
    o.status = "interrupted";
  } else {
    o.status = "failed";
    ++failed_;
    o.error = first_error_line(log_path(r, ".err"));
    if (WIFSIGNALED(wstatus))
      o.error = fmt::format("killed by signal {} ({}){}{}", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
                            o.error.empty() ? "" : ": ", o.error);
    else if (o.exit_code == 0)
      o.error = fmt::format("exit code 0 but the file is not a complete run: {}", why);
    else if (o.error.empty())
      o.error = fmt::format("exit code {} without a message", o.exit_code);
  }
  o.results.clear();
  for (const auto& [k, v] : io::sweep::run_results(path(r.file))) o.results[k] = v;
  ++finished_now_;
  event_ = fmt::format("run {} ({}) {} in {:.1f} s{}{}", r.id, r.file, o.status, elapsed, o.error.empty() ? "" : ": ",
                       o.error);
  // On a terminal only failures get a line of their own above the redrawn progress line.
  if (!a_.quiet && tty_ && o.status == "failed") std::fprintf(stderr, "\r[sweep] %s\n", event_.c_str());
  progress(true);
}

void Sweep::forward(int sig) {
  for (const Job& j : running_) kill(j.pid, sig);
}

void Sweep::progress(bool force) {
  if (a_.quiet) return;
  const auto now = Clock::now();
  if (tty_ && !force && now - last_draw_ < std::chrono::milliseconds(500)) return;
  if (!tty_ && !force) return;
  last_draw_ = now;
  const std::size_t total = m_.runs.size();
  std::size_t done = 0;
  for (const auto& o : out_) done += o.status == "complete" || o.status == "failed";
  const std::size_t left = (todo_.size() - next_) + running_.size();
  std::string eta = "?";
  const double wall = std::chrono::duration<double>(now - t0_).count();
  if (finished_now_ > 0) eta = fmt::format("{:.0f} s", wall / static_cast<double>(finished_now_) * static_cast<double>(left));
  if (left == 0) eta = "0 s";
  const std::string line = fmt::format("[sweep] {}/{} done, {} running, {} failed, ETA {}", done, total,
                                       running_.size(), failed_, eta);
  if (tty_) {
    std::fprintf(stderr, "\r%s   ", line.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s%s%s\n", event_.empty() ? "" : "[sweep] ", event_.c_str(),
                 event_.empty() ? line.c_str() : line.substr(7).insert(0, ";").c_str());
    event_.clear();
  }
  std::fflush(stderr);
}

void Sweep::write_tables() {
  // Result columns: every name any run has, in the order first seen (run order).
  std::vector<std::string> names;
  std::map<std::string, bool> seen;
  for (const auto& o : out_)
    for (const auto& [k, v] : o.results)
      if (!seen[k]) seen[k] = true, names.push_back(k);
  // std::map orders names; keep /summary names before trials.* ones as in the files.
  std::stable_partition(names.begin(), names.end(), [](const std::string& n) { return n.rfind("trials.", 0) != 0; });

  const std::string csv = path("summary.csv"), tmp = csv + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    std::vector<std::string> head = {"id", "file"};
    for (const auto& g : m_.grids) head.push_back(g.key);
    for (const char* h : {"repeat", "seed", "status", "exit_code", "error", "elapsed", "reused"}) head.push_back(h);
    head.insert(head.end(), names.begin(), names.end());
    for (std::size_t c = 0; c < head.size(); ++c) f << (c ? "," : "") << csv_field(head[c]);
    f << "\n";
    for (std::size_t i = 0; i < m_.runs.size(); ++i) {
      const PlannedRun& r = m_.runs[i];
      const RunOutcome& o = out_[i];
      std::vector<std::string> row = {std::to_string(r.id), r.file};
      row.insert(row.end(), r.values.begin(), r.values.end());
      row.push_back(std::to_string(r.repeat));
      row.push_back(std::to_string(r.seed));
      row.push_back(o.status);
      row.push_back(o.exit_code >= 0 ? std::to_string(o.exit_code) : std::string());
      row.push_back(o.error);
      row.push_back(o.elapsed >= 0 ? fmt::format("{:.3f}", o.elapsed) : std::string());
      row.push_back(o.reused ? "1" : "0");
      for (const auto& n : names) {
        const auto it = o.results.find(n);
        row.push_back(it == o.results.end() ? std::string() : number(it->second));
      }
      for (std::size_t c = 0; c < row.size(); ++c) f << (c ? "," : "") << csv_field(row[c]);
      f << "\n";
    }
    if (!f) throw RuntimeError(fmt::format("cannot write {}", tmp));
  }
  fs::rename(tmp, csv);
  std::vector<RunOutcome> snapshot = out_;
  for (auto& o : snapshot)
    if (o.status == "running") o.status = "not_run";
  io::sweep::write_index(path("index.h5"), m_, snapshot, names);
}

int Sweep::run() {
  exe_ = self_exe();
  open_outdir();
  tty_ = isatty(STDERR_FILENO) != 0;
  out_.assign(m_.runs.size(), RunOutcome{});
  for (std::size_t i = 0; i < m_.runs.size(); ++i) {
    const PlannedRun& r = m_.runs[i];
    if (io::sweep::run_is_complete(path(r.file), m_.run_sets(r))) {
      out_[i].status = "complete";
      out_[i].reused = true;
      out_[i].exit_code = 0;
      for (const auto& [k, v] : io::sweep::run_results(path(r.file))) out_[i].results[k] = v;
      ++reused_;
    } else {
      todo_.push_back(i);
    }
  }
  const int cores = available_cores();
  jobs_ = a_.jobs > 0 ? a_.jobs : cores;
  jobs_ = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(jobs_), todo_.size())));
  threads_ = a_.threads > 0 ? a_.threads : std::max(1, cores / jobs_);
  if (!a_.quiet)
    std::fprintf(stderr, "[sweep] %zu runs (%zu complete already, %zu to run), %d at a time, %d thread%s each\n",
                 m_.runs.size(), reused_, todo_.size(), jobs_, threads_, threads_ == 1 ? "" : "s");

  struct sigaction sa {};
  sa.sa_handler = on_sweep_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  write_tables();
  t0_ = Clock::now();
  while (next_ < todo_.size() || !running_.empty()) {
    if (g_signals > forwarded_) {
      // Stop launching; pass each interrupt on (a third one kills what still runs).
      forwarded_ = g_signals;
      forward(forwarded_ >= 3 ? SIGKILL : SIGINT);
    }
    while (forwarded_ == 0 && next_ < todo_.size() && static_cast<int>(running_.size()) < jobs_) launch(todo_[next_++]);
    if (forwarded_ > 0 && running_.empty()) break;
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, WNOHANG);
    if (pid > 0) {
      reaped(pid, wstatus);
      write_tables();
      continue;
    }
    progress(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return finish();
}

int Sweep::finish() {
  write_tables();
  if (drawn_) std::fputc('\n', stderr);
  std::size_t complete = 0, interrupted_runs = 0;
  for (const auto& o : out_) complete += o.status == "complete", interrupted_runs += o.status == "interrupted";
  if (failed_ > 0) {
    std::fprintf(stderr, "[sweep] %zu run%s failed:\n", failed_, failed_ == 1 ? "" : "s");
    for (std::size_t i = 0; i < out_.size(); ++i)
      if (out_[i].status == "failed")
        std::fprintf(stderr, "  run %llu (%s, exit %d): %s\n", static_cast<unsigned long long>(m_.runs[i].id),
                     m_.runs[i].file.c_str(), out_[i].exit_code, out_[i].error.c_str());
  }
  const bool interrupted = forwarded_ > 0;
  std::cout << fmt::format("sweep: {} runs: {} complete ({} from before), {} failed, {} interrupted, {} not run\n",
                           m_.runs.size(), complete, reused_, failed_, interrupted_runs,
                           m_.runs.size() - complete - failed_ - interrupted_runs);
  std::cout << fmt::format("summary: {}\nindex: {}\n", path("summary.csv"), path("index.h5"));
  if (interrupted) {
    std::cerr << "[sweep] interrupted: run the same command again to finish the sweep\n";
    return 130;
  }
  return failed_ > 0 ? 1 : 0;
}

}  // namespace

int sweep_main(const std::vector<std::string>& args) {
  const SweepArgs a = parse_sweep_args(args);
  if (a.help) {
    std::cout << kSweepHelp;
    return 0;
  }
  Manifest plan = plan_sweep(a);
  Sweep s(a, std::move(plan));
  return s.run();
}

}  // namespace nmsim::apps
