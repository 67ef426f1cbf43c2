// Summary statistics of a task's trials (docs/models/task.md, "Summary").
#include <cmath>

#include "nmsim/core/task.hpp"

namespace nmsim {

namespace {

/// Inverse of the standard normal CDF by bisection on Phi(x) = erfc(-x / sqrt 2) / 2: exact to
/// the last bits of Phi and simple enough to be obviously right.
double inverse_normal_cdf(double p) {
  double lo = -40.0, hi = 40.0;
  for (int it = 0; it < 200 && hi - lo > 0; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid == lo || mid == hi) break;
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

struct Rates {
  double hit = NAN, fa = NAN, d_prime = NAN, accuracy = NAN;
};

/// Hit rate: the first response chosen on trials whose correct response is the first one;
/// false alarms: the first response on the others; d' = Z(H') - Z(F') with the log-linear
/// correction H' = (hits + 0.5) / (n + 1) (Hautus 1995), so it stays finite at 0 and 1.
Rates rates(const std::vector<TrialRecord>& t, std::size_t from, std::size_t to) {
  Rates r;
  double n_go = 0, hits = 0, n_no = 0, fas = 0, correct = 0;
  for (std::size_t i = from; i < to; ++i) {
    const bool go_trial = t[i].correct_response == 0;
    const bool went = t[i].decision == 0;
    (go_trial ? n_go : n_no) += 1;
    (go_trial ? hits : fas) += went ? 1 : 0;
    correct += t[i].correct ? 1 : 0;
  }
  if (to > from) r.accuracy = correct / static_cast<double>(to - from);
  if (n_go > 0) r.hit = hits / n_go;
  if (n_no > 0) r.fa = fas / n_no;
  if (n_go > 0 && n_no > 0)
    r.d_prime = inverse_normal_cdf((hits + 0.5) / (n_go + 1)) - inverse_normal_cdf((fas + 0.5) / (n_no + 1));
  return r;
}

/// Trials from `from` until 16 of the last 20 were correct (the count includes those 20); NaN
/// when it never happens.
double to_criterion(const std::vector<TrialRecord>& t, std::size_t from, std::size_t to) {
  int window = 0;
  for (std::size_t i = from; i < to; ++i) {
    window += t[i].correct ? 1 : 0;
    if (i >= from + 20) window -= t[i - 20].correct ? 1 : 0;
    if (i + 1 >= from + 20 && window >= 16) return static_cast<double>(i + 1 - from);
  }
  return NAN;
}

}  // namespace

TaskSummary Task::summary() const {
  TaskSummary s;
  const auto& t = done_;
  const std::size_t n = t.size();
  std::size_t rev = n;
  for (std::size_t i = 0; i < n; ++i)
    if (t[i].reversed) {
      rev = i;
      break;
    }
  s.n_trials = static_cast<std::int64_t>(n);
  s.n_pre = static_cast<std::int64_t>(rev);
  s.n_post = static_cast<std::int64_t>(n - rev);
  if (n == 0) return s;
  const Rates all = rates(t, 0, n), pre = rates(t, 0, rev), post = rates(t, rev, n);
  s.accuracy = all.accuracy;
  s.hit_rate = all.hit;
  s.false_alarm_rate = all.fa;
  s.d_prime = all.d_prime;
  s.accuracy_pre = pre.accuracy;
  s.hit_rate_pre = pre.hit;
  s.false_alarm_rate_pre = pre.fa;
  s.d_prime_pre = pre.d_prime;
  s.accuracy_post = post.accuracy;
  s.hit_rate_post = post.hit;
  s.false_alarm_rate_post = post.fa;
  s.d_prime_post = post.d_prime;
  if (rev >= 20) s.accuracy_pre_last20 = rates(t, rev - 20, rev).accuracy;
  s.trials_to_criterion_pre = to_criterion(t, 0, rev);
  const bool has_reversal = spec_.reversal_after > 0;
  s.trials_to_criterion = has_reversal ? to_criterion(t, rev, n) : s.trials_to_criterion_pre;
  // Perseverative errors: after the reversal and before the criterion, errors that repeat the
  // response that was correct for the cue before the reversal.
  if (has_reversal) {
    const std::size_t until = std::isnan(s.trials_to_criterion) ? n : rev + static_cast<std::size_t>(s.trials_to_criterion);
    for (std::size_t i = rev; i < until; ++i) {
      const auto& c = spec_.cues[static_cast<std::size_t>(t[i].cue)].reward;
      int old = 0;
      for (std::size_t q = 1; q < c.size(); ++q)
        if (c[q] > c[static_cast<std::size_t>(old)]) old = static_cast<int>(q);
      if (!t[i].correct && t[i].decision == old) ++s.perseverative_errors;
    }
  }
  double sum = 0;
  for (const auto& r : t) sum += r.reward;
  s.mean_reward = sum / static_cast<double>(n);
  return s;
}

}  // namespace nmsim
