// Connection rules: exact degrees, switches, statistics of p, weights and delays, and that the
// network is the same for any thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::test::ProbePopulation;

namespace {

using Synapses = std::vector<Projection::Synapse>;

// Build one projection between probe populations a (n_a) and b (n_b), or a -> a when `self`.
Synapses build(ConnectSpec c, std::size_t n_a, std::size_t n_b, bool self, int threads = 1,
               Distribution weight = Distribution::constant(1.0), Distribution delay = Distribution::constant(1.0),
               double dt = 0.1, std::uint64_t seed = 17) {
  Simulation sim({dt, seed, threads});
  sim.add_population<ProbePopulation>("a", n_a);
  if (!self) sim.add_population<ProbePopulation>("b", n_b);
  sim.connect({"p", "a", self ? std::string("a") : std::string("b"), "exc", std::move(c), weight, delay});
  sim.prepare();
  const Projection& p = sim.projection("p");
  REQUIRE(p.threads() == static_cast<std::size_t>(threads));
  // CSR invariants for each thread: rows monotone, targets owned by that thread.
  for (int t = 0; t < threads; ++t) {
    const SynapseCsr& csr = p.csr(t);
    REQUIRE(csr.row.size() == n_a + 1);
    REQUIRE(csr.row.back() == csr.size());
    const Range own = sim.owned(p.target().index(), t);
    for (std::size_t q = 0; q < csr.size(); ++q) REQUIRE(own.contains(csr.target[q]));
  }
  auto all = p.synapses();
  REQUIRE(all.size() == p.synapse_count());
  return all;
}

std::vector<std::size_t> in_degree(const Synapses& s, std::size_t n) {
  std::vector<std::size_t> d(n, 0);
  for (const auto& x : s) ++d[x.target];
  return d;
}
std::vector<std::size_t> out_degree(const Synapses& s, std::size_t n) {
  std::vector<std::size_t> d(n, 0);
  for (const auto& x : s) ++d[x.source];
  return d;
}
std::size_t autapses(const Synapses& s) {
  std::size_t n = 0;
  for (const auto& x : s) n += x.source == x.target;
  return n;
}
std::size_t duplicates(const Synapses& s) {
  std::set<std::pair<NeuronIndex, NeuronIndex>> seen;
  std::size_t n = 0;
  for (const auto& x : s) n += !seen.insert({x.source, x.target}).second;
  return n;
}
double sample_variance(const std::vector<std::size_t>& d) {
  double m = 0;
  for (auto v : d) m += static_cast<double>(v);
  m /= static_cast<double>(d.size());
  double s = 0;
  for (auto v : d) s += (static_cast<double>(v) - m) * (static_cast<double>(v) - m);
  return s / static_cast<double>(d.size() - 1);
}

bool same(const Synapses& a, const Synapses& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].source != b[i].source || a[i].target != b[i].target || a[i].weight != b[i].weight ||
        a[i].delay != b[i].delay)
      return false;
  return true;
}

ConnectSpec rule(ConnectSpec::Rule r, double p = 0, std::uint64_t k = 0, bool autapses = true, bool multapses = true) {
  ConnectSpec c;
  c.rule = r;
  c.p = p;
  c.k = k;
  c.allow_autapses = autapses;
  c.allow_multapses = multapses;
  return c;
}

}  // namespace

TEST_CASE("connect: all_to_all gives every pair once; without autapses every pair but (i, i)") {
  const auto s = build(rule(ConnectSpec::Rule::all_to_all), 7, 5, false);
  REQUIRE(s.size() == 35);
  CHECK(duplicates(s) == 0);
  for (auto d : in_degree(s, 5)) CHECK(d == 7);
  const auto self = build(rule(ConnectSpec::Rule::all_to_all, 0, 0, false), 9, 9, true);
  CHECK(self.size() == 72);
  CHECK(autapses(self) == 0);
  CHECK(duplicates(self) == 0);
  const auto with = build(rule(ConnectSpec::Rule::all_to_all, 0, 0, true), 9, 9, true);
  CHECK(with.size() == 81);
  CHECK(autapses(with) == 9);
}

TEST_CASE("connect: one_to_one connects i -> i; on one population without autapses it connects nothing") {
  const auto s = build(rule(ConnectSpec::Rule::one_to_one), 11, 11, false, 2);
  REQUIRE(s.size() == 11);
  for (std::size_t i = 0; i < s.size(); ++i) {
    CHECK(s[i].source == i);
    CHECK(s[i].target == i);
  }
  CHECK(build(rule(ConnectSpec::Rule::one_to_one, 0, 0, true), 6, 6, true).size() == 6);
  // Every one_to_one synapse inside one population is an autapse: the switch must remove them.
  const auto none = build(rule(ConnectSpec::Rule::one_to_one, 0, 0, false), 6, 6, true);
  CHECK(autapses(none) == 0);
  CHECK(none.empty());
  Simulation sim({0.1, 1, 1});
  sim.add_population<ProbePopulation>("a", 3);
  sim.add_population<ProbePopulation>("b", 4);
  ProjectionSpec bad{"p", "a", "b", "exc", rule(ConnectSpec::Rule::one_to_one)};
  CHECK_THROWS_AS(sim.connect(bad), ConfigError);
}

TEST_CASE("connect: fixed_indegree gives exactly k inputs per target, switches honoured") {
  const std::size_t n = 200, k = 30;
  for (int threads : {1, 3}) {
    const auto a = build(rule(ConnectSpec::Rule::fixed_indegree, 0, k, false, false), n, n, true, threads);
    for (auto d : in_degree(a, n)) REQUIRE(d == k);
    CHECK(autapses(a) == 0);
    CHECK(duplicates(a) == 0);
  }
  // With multapses, sources are drawn with replacement: repeats occur (k = 80 of 100: ~all targets).
  const auto m = build(rule(ConnectSpec::Rule::fixed_indegree, 0, 80, true, true), 100, 50, false);
  for (auto d : in_degree(m, 50)) REQUIRE(d == 80);
  CHECK(duplicates(m) > 0);
  // Without autapses but with multapses: still exactly k, never (i, i).
  const auto am = build(rule(ConnectSpec::Rule::fixed_indegree, 0, 40, false, true), 20, 20, true);
  for (auto d : in_degree(am, 20)) REQUIRE(d == 40);
  CHECK(autapses(am) == 0);
  // k = all available sources without multapses: all_to_all minus autapses.
  const auto full = build(rule(ConnectSpec::Rule::fixed_indegree, 0, 19, false, false), 20, 20, true);
  CHECK(full.size() == 20 * 19);
  CHECK(autapses(full) == 0);
  CHECK(duplicates(full) == 0);
  // Sources spread uniformly: out-degrees have mean n_tgt k / n_src and binomial variance.
  const auto big = build(rule(ConnectSpec::Rule::fixed_indegree, 0, 50, true, false), 500, 400, false);
  const double p = 50.0 / 500;
  const double var = sample_variance(out_degree(big, 500));
  CAPTURE(var, 400 * p * (1 - p));
  CHECK(std::fabs(var / (400 * p * (1 - p)) - 1) < 0.3);
  // Too many distinct sources requested: clear error at connect time.
  Simulation sim({0.1, 1, 1});
  sim.add_population<ProbePopulation>("a", 10);
  ProjectionSpec bad{"p", "a", "a", "exc", rule(ConnectSpec::Rule::fixed_indegree, 0, 10, false, false)};
  CHECK_THROWS_AS(sim.connect(bad), ConfigError);
}

TEST_CASE("connect: fixed_outdegree gives exactly k outputs per source, switches honoured") {
  const std::size_t n = 150, k = 25;
  for (int threads : {1, 2, 3}) {
    const auto a = build(rule(ConnectSpec::Rule::fixed_outdegree, 0, k, false, false), n, n, true, threads);
    for (auto d : out_degree(a, n)) REQUIRE(d == k);
    CHECK(autapses(a) == 0);
    CHECK(duplicates(a) == 0);
  }
  const auto m = build(rule(ConnectSpec::Rule::fixed_outdegree, 0, 60, true, true), 40, 50, false, 2);
  for (auto d : out_degree(m, 40)) REQUIRE(d == 60);
  CHECK(duplicates(m) > 0);
  const auto am = build(rule(ConnectSpec::Rule::fixed_outdegree, 0, 30, false, true), 15, 15, true, 3);
  for (auto d : out_degree(am, 15)) REQUIRE(d == 30);
  CHECK(autapses(am) == 0);
  // Targets spread uniformly: in-degree variance binomial.
  const auto big = build(rule(ConnectSpec::Rule::fixed_outdegree, 0, 40, true, false), 400, 500, false);
  const double p = 40.0 / 500;
  const double var = sample_variance(in_degree(big, 500));
  CAPTURE(var, 400 * p * (1 - p));
  CHECK(std::fabs(var / (400 * p * (1 - p)) - 1) < 0.3);
  Simulation sim({0.1, 1, 1});
  sim.add_population<ProbePopulation>("a", 10);
  sim.add_population<ProbePopulation>("b", 5);
  ProjectionSpec bad{"p", "a", "b", "exc", rule(ConnectSpec::Rule::fixed_outdegree, 0, 6, true, false)};
  CHECK_THROWS_AS(sim.connect(bad), ConfigError);
}

TEST_CASE("connect: fixed_probability count within 4 sigma of the binomial mean, degrees binomial") {
  struct Case {
    std::size_t n_src, n_tgt;
    double p;
    bool self, autapses;
  };
  for (const Case& c : {Case{400, 300, 0.1, false, true}, Case{300, 300, 0.02, true, false},
                        Case{300, 300, 0.5, true, true}, Case{500, 200, 0.9, false, true}}) {
    const auto s = build(rule(ConnectSpec::Rule::fixed_probability, c.p, 0, c.autapses), c.n_src, c.n_tgt, c.self, 2);
    const double pairs = static_cast<double>(c.n_src * c.n_tgt) - ((c.self && !c.autapses) ? c.n_src : 0.0);
    const double mean = pairs * c.p, sd = std::sqrt(pairs * c.p * (1 - c.p));
    CAPTURE(c.n_src, c.n_tgt, c.p, s.size(), mean, sd);
    CHECK(std::fabs(static_cast<double>(s.size()) - mean) < 4 * sd);
    CHECK(duplicates(s) == 0);
    if (c.self && !c.autapses) CHECK(autapses(s) == 0);
    // In-degrees ~ Binomial(n_src, p) per target; out-degrees ~ Binomial(n_tgt, p) per source. The
    // second also catches streams that repeat across targets (out-degrees would be 0 or n_tgt).
    const double vin = sample_variance(in_degree(s, c.n_tgt));
    const double vout = sample_variance(out_degree(s, c.n_src));
    const double ein = c.n_src * c.p * (1 - c.p), eout = c.n_tgt * c.p * (1 - c.p);
    CAPTURE(vin, ein, vout, eout);
    CHECK(std::fabs(vin / ein - 1) < 0.35);
    CHECK(std::fabs(vout / eout - 1) < 0.35);
  }
  // Source positions are uniform: the chosen sources split evenly between halves of the range.
  const auto s = build(rule(ConnectSpec::Rule::fixed_probability, 0.05), 1000, 400, false);
  double low = 0;
  for (const auto& x : s) low += x.source < 500;
  CHECK(std::fabs(low - s.size() / 2.0) < 4 * std::sqrt(s.size() / 4.0));
  CHECK(build(rule(ConnectSpec::Rule::fixed_probability, 0.0), 50, 50, false).empty());
  CHECK(build(rule(ConnectSpec::Rule::fixed_probability, 1.0, 0, false), 20, 20, true).size() == 380);
}

TEST_CASE("connect: pairs with per-pair weights and delays, in (target, source) order") {
  ConnectSpec c = rule(ConnectSpec::Rule::pairs);
  c.pairs = {{3, 1}, {0, 1}, {2, 0}, {0, 1}, {4, 2}};
  c.pair_weights = {1.5, -2.0, 3.0, 4.0, 5.0};
  c.pair_delays = {0.3, 1.0, 0.1, 2.5, 0.30000000000000004};
  for (int threads : {1, 2, 3}) {
    const auto s = build(c, 5, 3, false, threads);
    REQUIRE(s.size() == 5);
    // Sorted by target, then source; the duplicate (0, 1) keeps its listed order.
    CHECK((s[0].source == 2 && s[0].target == 0 && s[0].weight == 3.0 && s[0].delay == 1));
    CHECK((s[1].source == 0 && s[1].target == 1 && s[1].weight == -2.0 && s[1].delay == 10));
    CHECK((s[2].source == 0 && s[2].target == 1 && s[2].weight == 4.0 && s[2].delay == 25));
    CHECK((s[3].source == 3 && s[3].target == 1 && s[3].weight == 1.5 && s[3].delay == 3));
    CHECK((s[4].source == 4 && s[4].target == 2 && s[4].weight == 5.0 && s[4].delay == 3));
  }
  // Without per-pair values, the projection's distributions apply.
  ConnectSpec d = rule(ConnectSpec::Rule::pairs);
  d.pairs = {{0, 0}, {1, 0}};
  const auto s = build(d, 2, 1, false, 1, Distribution::constant(7.0), Distribution::constant(0.4));
  REQUIRE(s.size() == 2);
  CHECK((s[0].weight == 7.0 && s[0].delay == 4 && s[1].weight == 7.0 && s[1].delay == 4));
  // Out-of-range pairs, wrong list lengths and off-grid delays are ConfigErrors.
  Simulation sim({0.1, 1, 1});
  sim.add_population<ProbePopulation>("a", 2);
  ConnectSpec e = rule(ConnectSpec::Rule::pairs);
  e.pairs = {{0, 2}};
  CHECK_THROWS_AS(sim.connect({"p1", "a", "a", "exc", e}), ConfigError);
  e.pairs = {{0, 1}};
  e.pair_weights = {1.0, 2.0};
  CHECK_THROWS_AS(sim.connect({"p2", "a", "a", "exc", e}), ConfigError);
  e.pair_weights = {};
  e.pair_delays = {0.05};
  CHECK_THROWS_AS(sim.connect({"p3", "a", "a", "exc", e}), ConfigError);
  e.pair_delays = {0.25};
  CHECK_THROWS_AS(sim.connect({"p4", "a", "a", "exc", e}), ConfigError);
}

TEST_CASE("connect: weights drawn from distributions have the right mean and bounds") {
  const auto all = rule(ConnectSpec::Rule::all_to_all);
  {
    const auto s = build(all, 300, 300, false, 2, Distribution::uniform(1.0, 3.0));
    double m = 0, lo = 1e9, hi = -1e9;
    for (const auto& x : s) {
      m += x.weight;
      lo = std::min(lo, x.weight);
      hi = std::max(hi, x.weight);
    }
    m /= static_cast<double>(s.size());
    CHECK(lo >= 1.0);
    CHECK(hi < 3.0);
    CHECK(std::fabs(m - 2.0) < 4 * std::sqrt(4.0 / 12 / static_cast<double>(s.size())));
  }
  {
    // Truncated normal N(5, 1) on [4, 7]: redrawn, so the mean is mu + sd (phi(a) - phi(b)) / Z.
    Distribution w = Distribution::normal(5.0, 1.0);
    w.lo = 4.0;
    w.hi = 7.0;
    const auto s = build(all, 300, 300, false, 3, w);
    double m = 0, m2 = 0, lo = 1e9, hi = -1e9, at_lo = 0;
    for (const auto& x : s) {
      m += x.weight;
      m2 += x.weight * x.weight;
      lo = std::min(lo, x.weight);
      hi = std::max(hi, x.weight);
      at_lo += x.weight == 4.0;
    }
    const double n = static_cast<double>(s.size());
    m /= n;
    const double var = m2 / n - m * m;
    const auto phi = [](double z) { return std::exp(-z * z / 2) / std::sqrt(2 * M_PI); };
    const auto Phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
    const double a = -1, b = 2, Z = Phi(b) - Phi(a);
    const double mean = 5 + (phi(a) - phi(b)) / Z;
    const double tvar = 1 + (a * phi(a) - b * phi(b)) / Z - std::pow((phi(a) - phi(b)) / Z, 2);
    CAPTURE(m, mean, var, tvar);
    CHECK(lo >= 4.0);
    CHECK(hi <= 7.0);
    CHECK(at_lo == 0);  // no mass piled on the bound
    CHECK(std::fabs(m - mean) < 4 * std::sqrt(tvar / n));
    CHECK(std::fabs(var / tvar - 1) < 0.02);
  }
  {
    // Weights of different targets come from different streams, so they are not repeated.
    const auto s = build(all, 2, 200, false, 1, Distribution::normal(0.0, 1.0));
    std::set<double> distinct;
    for (const auto& x : s) distinct.insert(x.weight);
    CHECK(distinct.size() == s.size());
  }
}

TEST_CASE("connect: delays are rounded to whole steps with the right distribution") {
  // uniform [1.0, 2.0) ms at dt = 0.1: steps 10..20, the end bins half as likely (1/20 each).
  const auto s = build(rule(ConnectSpec::Rule::all_to_all), 200, 200, false, 2, Distribution::constant(1.0),
                       Distribution::uniform(1.0, 2.0));
  std::map<int, double> hist;
  double mean = 0;
  for (const auto& x : s) {
    hist[x.delay] += 1;
    mean += x.delay;
  }
  const double n = static_cast<double>(s.size());
  mean /= n;
  REQUIRE(hist.begin()->first >= 10);
  REQUIRE(hist.rbegin()->first <= 20);
  for (int d = 10; d <= 20; ++d) {
    const double p = (d == 10 || d == 20) ? 0.05 : 0.1;
    CAPTURE(d, hist[d], p * n);
    CHECK(std::fabs(hist[d] - p * n) < 4 * std::sqrt(p * (1 - p) * n));
  }
  CHECK(std::fabs(mean - 15.0) < 4 * std::sqrt(8.5 / n));
  // Constant delays that are float-inexact multiples of dt round to the right step.
  for (double d : {0.1, 0.3, 0.7, 1.1, 2.3}) {
    const auto c = build(rule(ConnectSpec::Rule::one_to_one), 3, 3, false, 1, Distribution::constant(1.0),
                         Distribution::constant(d));
    for (const auto& x : c) CHECK(x.delay == std::llround(d * 10));
  }
  // A distribution that can fall below dt is rejected; one bounded below by dt is accepted.
  Simulation sim({0.1, 1, 1});
  sim.add_population<ProbePopulation>("a", 2);
  ProjectionSpec low{"p", "a", "a", "exc", rule(ConnectSpec::Rule::all_to_all)};
  low.delay = Distribution::normal(1.0, 0.5);
  CHECK_THROWS_AS(sim.connect(low), ConfigError);
  low.delay.lo = 0.1;
  CHECK_NOTHROW(sim.connect(low));
  ProjectionSpec off{"q", "a", "a", "exc", rule(ConnectSpec::Rule::all_to_all)};
  off.delay = Distribution::constant(0.15);
  CHECK_THROWS_AS(sim.connect(off), ConfigError);
}

TEST_CASE("connect: synapses() identical for threads = 1, 2, 3 for every rule") {
  Distribution w = Distribution::normal(2.0, 1.0);
  w.lo = 0.0;
  const Distribution d = Distribution::uniform(0.1, 3.0);
  std::vector<ConnectSpec> specs = {
      rule(ConnectSpec::Rule::all_to_all, 0, 0, false),
      rule(ConnectSpec::Rule::one_to_one),
      rule(ConnectSpec::Rule::fixed_probability, 0.1, 0, false),
      rule(ConnectSpec::Rule::fixed_indegree, 0, 20, false, false),
      rule(ConnectSpec::Rule::fixed_indegree, 0, 20, true, true),
      rule(ConnectSpec::Rule::fixed_outdegree, 0, 20, false, false),
      rule(ConnectSpec::Rule::fixed_outdegree, 0, 20, true, true),
  };
  ConnectSpec pairs = rule(ConnectSpec::Rule::pairs);
  RandomStream rng(5, purpose_id("test/pairs"), 0);
  for (int i = 0; i < 500; ++i) pairs.pairs.push_back({rng.below(101), rng.below(101)});
  specs.push_back(pairs);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    CAPTURE(i);
    const auto one = build(specs[i], 101, 101, true, 1, w, d);
    REQUIRE(!one.empty());
    for (int threads : {2, 3, 7}) {
      CAPTURE(threads);
      CHECK(same(one, build(specs[i], 101, 101, true, threads, w, d)));
    }
    // Another seed gives another network (except for the deterministic rules' structure).
    const auto other = build(specs[i], 101, 101, true, 1, w, d, 0.1, 18);
    CHECK(!same(one, other));
  }
}
