// Grid field: conservation, positivity, boundaries (no-flux, fixed, periodic), thread-count
// invariance, spike-driven release through the engine, and its configuration.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "field_cube.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/modulators/grid_field.hpp"
#include "nmsim/modulators/presets.hpp"
#include "nmsim/modulators/register.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

using testing::cube;

double direct_amount(const GridField& f) {
  const auto c = f.concentration();
  long double s = 0.0L;
  for (double v : c) s += v;
  return static_cast<double>(s) * f.params().volume_fraction * f.geometry().voxel_volume();
}

}  // namespace

TEST_CASE("field: mass is conserved to round-off with no-flux boundaries and no uptake") {
  const GridScheme scheme = GENERATE(GridScheme::euler, GridScheme::heun);
  GridFieldParams p = cube(24, 2.0);
  p.scheme = scheme;
  p.geometry.shape = {24, 20, 16};  // anisotropic shape and spacing
  p.geometry.spacing = {2.0, 2.5, 3.0};
  GridField f("F", p);
  f.setup(0.5);
  double released = 0.0;
  RandomStream rng(7, 1, 0);
  const Step steps = 4000, window = 20;
  for (Step w = 0; w < steps; w += window) {
    if (w % 200 == 0) {
      const Position x{rng.uniform() * 46.0, rng.uniform() * 48.0, rng.uniform() * 45.0};
      const double q = 10.0 + 100.0 * rng.uniform();
      f.release_at_point(w + 3, x, q);
      released += q;
    }
    f.advance(w, w + window);
  }
  const double rel_fused = std::fabs(f.total_amount() / released - 1.0);
  const double rel_direct = std::fabs(direct_amount(f) / released - 1.0);
  INFO("relative mass error (fused sums) " << rel_fused << ", (direct) " << rel_direct);
  CHECK(rel_fused < 1e-12);
  CHECK(rel_direct < 1e-12);
  // The release has spread: the field is not still a few spikes.
  const auto c = f.concentration();
  CHECK(*std::min_element(c.begin(), c.end()) > 0.0);
}

TEST_CASE("field: concentrations stay non-negative under strong Michaelis-Menten uptake") {
  const GridScheme scheme = GENERATE(GridScheme::euler, GridScheme::heun);
  GridFieldParams p = cube(20, 5.0);
  p.scheme = scheme;
  p.kinetics.vmax = 50.0;  // uM/ms: far beyond any physiological value
  p.kinetics.km = 0.01;
  GridField f("F", p);
  f.setup(1.0);  // coarse steps: many sub-steps, strongly saturated uptake within each
  double min_seen = 1.0, max_seen = 0.0;
  for (Step w = 0; w < 200; w += 10) {
    f.release_at_point(w, {50.0, 50.0, 50.0}, 5e4);
    f.release_in_box(w + 5, {0.0, 0.0, 0.0}, {30.0, 30.0, 30.0}, 3.0);
    f.advance(w, w + 10);
    const auto c = f.concentration();
    min_seen = std::min(min_seen, *std::min_element(c.begin(), c.end()));
    max_seen = std::max(max_seen, *std::max_element(c.begin(), c.end()));
  }
  INFO("min " << min_seen << " max " << max_seen);
  CHECK(min_seen >= 0.0);
  CHECK(max_seen > 0.0);
}

TEST_CASE("field: a decaying field holds no subnormal values (flushed to 0)") {
  for (const bool mm : {false, true}) {
    GridFieldParams p = cube(12, 5.0);
    if (mm) {
      p.kinetics.vmax = 4e-3;
      p.kinetics.km = 0.2;
    } else {
      p.kinetics.tau = 2.0;
    }
    GridField f("F", p);
    f.setup(mm ? 50.0 : 0.5);  // decay by e^-1 per 2 ms (linear) or ~e^-0.98 per 50 ms (MM)
    f.release_at_point(0, {30.0, 30.0, 30.0}, 1e3);
    std::size_t subnormal = 0, zero = 0, positive = 0;
    for (Step w = 0; w < 4000; w += 10) {  // down through and past the subnormal range
      f.advance(w, w + 10);
      for (double v : f.concentration()) {
        if (v > 0 && v < std::numeric_limits<double>::min()) ++subnormal;
        (v == 0 ? zero : positive) += 1;
      }
    }
    INFO("Michaelis-Menten: " << mm);
    CHECK(subnormal == 0);
    CHECK(positive > 0);
    CHECK(zero > 0);  // the decay went below the normal range (where the values are set to 0)
    CHECK(std::fabs(f.concentration()[0]) == 0.0);
  }
}

TEST_CASE("field: fixed boundaries give the steady linear profile in 1-D") {
  GridFieldParams p;
  p.geometry.dims = 1;
  p.geometry.shape = {20, 1, 1};
  p.geometry.spacing = {5.0, 5.0, 5.0};
  p.diffusion = 1.0;
  p.tortuosity = 1.0;
  p.initial = 0.0;
  p.boundary[0][0] = {GridBoundary::Kind::fixed, 1.0};
  p.boundary[0][1] = {GridBoundary::Kind::fixed, 0.0};
  GridField f("F", p);
  f.setup(1.0);
  f.advance(0, 40000);  // 40 s: slowest mode L^2 / (pi^2 D) = 1.1 s decays by e^-36
  const auto c = f.concentration();
  double worst = 0.0;
  for (std::size_t i = 0; i < 20; ++i) worst = std::max(worst, std::fabs(c[i] - (1.0 - (i + 1.0) / 21.0)));
  INFO("max deviation from the line " << worst);
  CHECK(worst < 1e-9);
}

TEST_CASE("field: periodic boundaries wrap, conserve mass and decay a Fourier mode at the diffusion rate") {
  GridFieldParams p;
  p.geometry.dims = 2;
  p.geometry.shape = {64, 8, 1};
  p.geometry.spacing = {1.0, 1.0, 1.0};
  p.diffusion = 1.0;
  p.tortuosity = 1.0;
  p.initial = 0.0;
  for (auto& face : p.boundary[0]) face.kind = GridBoundary::Kind::periodic;
  for (auto& face : p.boundary[1]) face.kind = GridBoundary::Kind::periodic;
  GridField f("F", p);
  f.setup(0.2);
  // A release at x = 0 spreads symmetrically across the x faces.
  f.release_at_point(0, {0.0, 3.0, 0.0}, 100.0);
  f.advance(0, 100);
  const auto& g = f.geometry();
  const auto c = f.concentration();
  for (std::size_t d = 1; d < 10; ++d) CHECK(c[g.index(d, 3, 0)] == Approx(c[g.index(64 - d, 3, 0)]).epsilon(1e-12));
  CHECK(f.total_amount() == Approx(100.0).epsilon(1e-12));
  // Mode cos(2 pi x / L): amplitude decays as exp(-D* k^2 t) (to O(h^2)).
  std::vector<double> init(g.size());
  const double L = 64.0, k = 2.0 * 3.14159265358979323846 / L;
  for (std::size_t j = 0; j < 8; ++j)
    for (std::size_t i = 0; i < 64; ++i) init[g.index(i, j, 0)] = 1.0 + 0.5 * std::cos(k * static_cast<double>(i));
  GridField m("M", p);
  m.setup(0.2);
  m.set_concentration(init);
  m.advance(0, 2000);  // 400 ms
  const double amp = 0.5 * std::exp(-k * k * 400.0);
  double worst = 0.0;
  for (std::size_t i = 0; i < 64; ++i)
    worst = std::max(worst, std::fabs(m.concentration()[g.index(i, 5, 0)] - 1.0 - amp * std::cos(k * static_cast<double>(i))));
  INFO("max deviation " << worst << " (amplitude " << amp << ")");
  CHECK(worst < 0.01 * amp);
}

TEST_CASE("field: results are bit-identical for 1, 2 and 3 threads") {
  const GridScheme scheme = GENERATE(GridScheme::euler, GridScheme::heun);
  auto run = [scheme](int threads) {
    GridFieldParams p = cube(40, 4.0);
    p.scheme = scheme;
    p.kinetics.vmax = 4e-3;
    p.kinetics.km = 0.2;
    p.kinetics.tau = 500.0;
    p.kinetics.production = 1e-4;
    p.boundary[2][0] = {GridBoundary::Kind::fixed, 0.05};
    p.boundary[0][0].kind = p.boundary[0][1].kind = GridBoundary::Kind::periodic;
    GridField f("F", p);
    f.add_probe({13.0, 17.5, 80.2});
    f.add_probe({150.0, 2.0, 44.4});
    f.setup(0.5, 1, 0, threads);
    std::vector<double> probe;
    for (Step w = 0; w < 100; w += 10) {
      f.release_at_point(w + 1, {80.0, 80.0, 80.0}, 500.0);
      f.release_at_point(w + 4, {20.0, 120.0, 40.0}, 300.0);
      f.advance(w, w + 10);
      for (Step k = w; k < w + 10; ++k) {
        probe.push_back(f.probe_piece(k, 0).at(0));
        probe.push_back(f.probe_piece(k, 1).at(0));
        probe.push_back(f.piece(k).at(0));
      }
    }
    std::vector<double> out(f.concentration().begin(), f.concentration().end());
    out.insert(out.end(), probe.begin(), probe.end());
    return out;
  };
  const auto one = run(1);
  const auto two = run(2);
  const auto three = run(3);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(one.data(), three.data(), one.size() * sizeof(double)) == 0);
}

TEST_CASE("field: spikes release at the neuron's voxel after the delay, same for any engine thread count") {
  auto run = [](int threads) {
    Simulation sim({0.1, 5, threads});
    auto& pop = sim.add_population<test::ProbePopulation>("src", 8);
    std::vector<std::array<double, 3>> pos;
    for (int i = 0; i < 8; ++i) pos.push_back({10.0 + 20.0 * i, 50.0, 50.0});
    pop.set_positions(pos);
    for (int i = 0; i < 8; ++i) pop.fire(10 + 7 * i, static_cast<NeuronIndex>(i));
    GridFieldParams p = cube(20, 10.0);
    p.kinetics.tau = 100.0;
    p.release.push_back({"src", 100.0, 2.0, 1.0});  // delay 2 ms = 20 steps
    auto& f = sim.add_modulator<GridField>("DA", p);
    f.add_probe({10.0, 50.0, 50.0});
    sim.prepare();
    CHECK(f.release_delay() == 20);
    CHECK(sim.min_delay() <= 20);
    std::vector<double> seen;
    for (int w = 0; w < 10; ++w) {
      sim.run(2.0);
      seen.push_back(f.total_amount());
    }
    // Neuron 0 fires in step 10 (stamp t_11), releases at step 31 into voxel (1, 5, 5).
    std::vector<double> out(f.concentration().begin(), f.concentration().end());
    out.insert(out.end(), seen.begin(), seen.end());
    return out;
  };
  const auto a = run(1), b = run(2), c = run(3);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(double)) == 0);
  // All 8 releases happened (last at step 10 + 49 + 1 + 20 = 80 < 200): amount = 800 e^{-t/tau}.
  const double total = a.back();
  CHECK(total > 800.0 * std::exp(-20.0 / 100.0));
  CHECK(total < 800.0);
}

TEST_CASE("field: release lands exactly delay steps after the spike's stamp") {
  Simulation sim({0.1, 5, 1});
  auto& pop = sim.add_population<test::ProbePopulation>("src", 1);
  pop.set_positions({{5.0, 5.0, 5.0}});
  pop.fire(3, 0);  // stamp t_4, delay 5 steps -> release at step 9
  GridFieldParams p = cube(4, 10.0);
  p.release.push_back({"src", 21.0, 0.5, 1.0});
  auto& f = sim.add_modulator<GridField>("X", p);
  f.add_probe({5.0, 5.0, 5.0});
  sim.run(0.5);   // steps 0..4
  sim.run(0.4);   // steps 5..8: nothing yet
  CHECK(f.total_amount() == 0.0);
  sim.run(0.1);   // step 9: the piece of step 9 holds the release
  CHECK(f.probe_piece(9, 0).at(0) > 0.0);
  CHECK(f.piece(9).at(0) * 64 * 0.21 * 1000.0 == Approx(21.0));
}

TEST_CASE("field: configuration through the registry, presets and overrides") {
  Registry reg;
  register_modulators(reg);
  auto num = [](double v) { return ParamValue{v, {}}; };
  auto arr = [](std::vector<double> v) { return ParamValue{std::move(v), {}}; };
  auto str = [](std::string v) { return ParamValue{std::move(v), {}}; };
  ModulatorSpec s;
  s.name = "DA";
  s.field_type = "grid";
  s.table = ParamTable("modulator.DA");
  s.table.set("name", str("DA"));
  s.table.set("preset", str("DA"));
  s.table.set("baseline", num(0.02));
  s.field = ParamTable("modulator.DA.field");
  s.field.set("type", str("grid"));
  s.field.set("shape", arr({10, 12, 8}));
  s.field.set("spacing", num(10.0));
  s.field.set("boundary", str("periodic"));
  s.diffusion = ParamTable("modulator.DA.diffusion");
  s.uptake = ParamTable("modulator.DA.uptake");
  auto m = reg.make_modulator(s);
  auto* f = dynamic_cast<GridField*>(m.get());
  REQUIRE(f != nullptr);
  const ModulatorPreset* da = find_preset("DA");
  REQUIRE(da != nullptr);
  CHECK(f->params().kinetics.vmax == da->kinetics.vmax);
  CHECK(f->effective_diffusion() == Approx(0.763 / (1.54 * 1.54)));
  f->setup(0.1);
  CHECK(f->mean() == Approx(0.02));  // the baseline is the steady state of production vs uptake
  // Explicit keys override the preset.
  s.uptake.set("kind", str("michaelis_menten"));
  s.uptake.set("vmax", num(0.01));
  s.diffusion.set("tortuosity", num(2.0));
  auto m2 = reg.make_modulator(s);
  auto* f2 = dynamic_cast<GridField*>(m2.get());
  CHECK(f2->params().kinetics.vmax == 0.01);
  CHECK(f2->params().kinetics.km == da->kinetics.km);
  CHECK(f2->effective_diffusion() == Approx(0.763 / 4.0));
  CHECK(f2->params().scheme == GridScheme::euler);  // the default
  s.field.set("scheme", str("heun"));
  CHECK(dynamic_cast<GridField*>(reg.make_modulator(s).get())->params().scheme == GridScheme::heun);
  s.field.set("scheme", str("rk4"));
  CHECK_THROWS_WITH(reg.make_modulator(s),
                    Catch::Contains("scheme") && Catch::Contains("\"euler\" or \"heun\"") && Catch::Contains("rk4"));
  s.field.set("scheme", str("euler"));
  // Unknown keys and bad presets are errors.
  s.field.set("colour", str("red"));
  CHECK_THROWS_AS(reg.make_modulator(s), ConfigError);
  s.field = ParamTable("modulator.DA.field");
  s.field.set("shape", arr({10}));
  s.field.set("spacing", num(10.0));
  s.table.set("preset", str("GABA"));
  CHECK_THROWS_AS(reg.make_modulator(s), ConfigError);
  for (const auto& name : preset_names()) {
    const ModulatorPreset* pr = find_preset(name);
    REQUIRE(pr != nullptr);
    CHECK(pr->diffusion > 0);
    CHECK(pr->tortuosity >= 1);
    CHECK(pr->quantum > 0);
  }
}

TEST_CASE("field: probe values are the trilinear interpolation, equal to sample() bit for bit") {
  // 1-D, 2-D and 3-D grids, and a 3-D grid with one layer in z; probes inside, on faces, at
  // corners and beyond the rim (clamped). The reference interpolates from the position directly.
  struct Case {
    int dims;
    std::array<std::size_t, 3> shape;
  };
  for (const Case cs : {Case{1, {20, 1, 1}}, Case{2, {12, 9, 1}}, Case{3, {7, 6, 5}}, Case{3, {6, 5, 1}}}) {
    GridFieldParams p;
    p.geometry.dims = cs.dims;
    p.geometry.shape = cs.shape;
    p.geometry.spacing = {10.0, 8.0, 6.0};
    p.geometry.origin = {5.0, -4.0, 3.0};
    p.diffusion = 0.5;
    GridField f("F", p);
    const GridGeometry& g = f.geometry();
    std::vector<double> c(g.size());
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = 0.3 + std::sin(0.7 * static_cast<double>(i)) * 0.25;
    std::vector<Position> at;
    for (int k = 0; k < 40; ++k) at.push_back({5.0 + 10.0 * 0.37 * k, -4.0 + 8.0 * 0.29 * k, 3.0 + 6.0 * 0.23 * k});
    at.push_back(g.origin);                                    // the first voxel's centre
    at.push_back({-100.0, -100.0, -100.0});                    // clamped to it
    at.push_back({1e4, 1e4, 1e4});                             // clamped to the last corner
    at.push_back({5.0 + 10.0 * (cs.shape[0] - 1), 0.0, 3.0});  // on the x face
    for (const Position& x : at) f.add_probe(x);
    f.setup(1.0);
    f.set_concentration(c);
    f.advance(0, 1);  // step 0 reads the state after the field step
    const std::vector<double> after(f.concentration().begin(), f.concentration().end());
    REQUIRE(after != c);
    std::vector<double> want;
    for (const Position& x : at) want.push_back(f.sample(x));
    for (std::size_t q = 0; q < at.size(); ++q) {
      INFO("dims " << cs.dims << ", probe " << q << " at (" << at[q][0] << ", " << at[q][1] << ", " << at[q][2] << ")");
      CHECK(f.probe_piece(0, q).at(0) == want[q]);
      // Independent reference: clamp each axis to the grid, interpolate linearly along it.
      std::array<std::size_t, 3> lo{0, 0, 0}, hi{0, 0, 0};
      std::array<double, 3> fr{0, 0, 0};
      for (std::size_t a = 0; a < 3; ++a) {
        const double n1 = static_cast<double>(cs.shape[a] - 1);
        const double x = static_cast<int>(a) < cs.dims
                             ? std::clamp((at[q][a] - p.geometry.origin[a]) / p.geometry.spacing[a], 0.0, n1)
                             : 0.0;
        lo[a] = static_cast<std::size_t>(std::min(std::floor(x), std::max(n1 - 1.0, 0.0)));
        hi[a] = std::min(lo[a] + 1, cs.shape[a] - 1);
        fr[a] = x - static_cast<double>(lo[a]);
      }
      long double ref = 0.0L;
      for (int k = 0; k < 8; ++k) {
        const long double w =
            ((k & 1) ? fr[0] : 1.0 - fr[0]) * ((k & 2) ? fr[1] : 1.0 - fr[1]) * ((k & 4) ? fr[2] : 1.0 - fr[2]);
        ref += w * after[g.index((k & 1) ? hi[0] : lo[0], (k & 2) ? hi[1] : lo[1], (k & 4) ? hi[2] : lo[2])];
      }
      CHECK(want[q] == Approx(static_cast<double>(ref)).epsilon(1e-14));
    }
  }
}

TEST_CASE("field: probes sampled after each field step equal sample() at every step of the block") {
  // The probes are sampled right after each field step, split over the field's threads (Heun's
  // fused pass: plane by plane inside it, those read across two threads' slabs after it). On 1-D,
  // 2-D, 3-D and one-layer grids, and one large enough for threads (18 720 voxels, a probe in
  // every plane), with point releases at pseudo-random voxels and a uniform release, every step's
  // probe pieces equal sample() of the state, bit for bit, with 1, 2 and 3 threads.
  const GridScheme scheme = GENERATE(GridScheme::euler, GridScheme::heun);
  struct Case {
    int dims;
    std::array<std::size_t, 3> shape;
  };
  for (const int threads : {1, 2, 3})
    for (const Case cs :
         {Case{1, {20, 1, 1}}, Case{2, {12, 9, 1}}, Case{3, {7, 6, 5}}, Case{3, {6, 5, 1}}, Case{3, {30, 24, 26}}}) {
      GridFieldParams p;
      p.scheme = scheme;
      p.geometry.dims = cs.dims;
      p.geometry.shape = cs.shape;
      p.geometry.spacing = {10.0, 8.0, 6.0};
      p.diffusion = 0.5;
      p.kinetics.tau = 50.0;
      p.initial = 0.1;
      p.field_dt = 3.0;
      GridField f("F", p);
      std::vector<Position> at;
      for (int k = 0; k < 40; ++k) at.push_back({10.0 * 0.37 * k, 8.0 * 0.29 * k, 6.0 * 0.23 * k});
      at.push_back({-100.0, -100.0, -100.0});
      at.push_back({1e4, 1e4, 1e4});
      for (std::size_t z = 0; z < cs.shape[2]; ++z) at.push_back({50.0, 30.0, 6.0 * static_cast<double>(z) + 0.5});
      for (const Position& x : at) f.add_probe(x);
      f.setup(1.0, 1, 0, threads);
      REQUIRE(f.probe_hold() == 3);
      std::uint64_t state = 12345;
      auto next = [&] {  // a small linear congruential generator: the same releases everywhere
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(state >> 11) * 0x1p-53;
      };
      for (Step s = 1; s < 45; ++s) {
        for (int r = 0; r < 4; ++r) {
          const Position x{next() * 10.0 * static_cast<double>(cs.shape[0] - 1),
                           next() * 8.0 * static_cast<double>(cs.shape[1] - 1),
                           next() * 6.0 * static_cast<double>(cs.shape[2] - 1)};
          f.release_at_point(s, x, 5.0 + next());
        }
        if (s == 20) f.release_at(s, 0.25);
      }
      std::size_t changed = 0;
      double last0 = -1.0;
      for (Step k = 0; k < 48; ++k) {
        f.advance(k, k + 1);
        for (std::size_t q = 0; q < at.size(); ++q) {
          INFO("threads " << threads << ", dims " << cs.dims << ", step " << k << ", probe " << q);
          CHECK(f.probe_piece(k, q).at(0) == f.sample(at[q]));
        }
        changed += f.probe_piece(k, 0).at(0) != last0;
        last0 = f.probe_piece(k, 0).at(0);
      }
      CHECK(changed >= 10);
    }
}

TEST_CASE("field: probe rows do not depend on how the run is cut into windows (field.dt = 5 dt)") {
  // Windows of 1, 3 and 7 steps and one window of 60, releases inside field steps: every step's
  // probe piece is the same (a window inside one field step reuses the row the last one wrote).
  auto run = [](Step window) {
    GridFieldParams p = cube(12, 10.0);
    p.kinetics.tau = 80.0;
    p.field_dt = 0.5;
    GridField f("F", p);
    f.add_probe({33.0, 47.0, 61.0});
    f.add_probe({5.0, 5.0, 5.0});
    f.add_probe({100.0, 20.0, 70.0});
    f.setup(0.1);
    REQUIRE(f.probe_hold() == 5);
    std::vector<double> out;
    for (Step w = 0; w < 60; w += window) {
      const Step end = std::min<Step>(60, w + window);
      for (Step k = w; k < end; ++k)
        if (k % 11 == 2) f.release_at_point(k, {35.0 + static_cast<double>(k), 45.0, 60.0}, 50.0);
      f.advance(w, end);
      for (Step k = w; k < end; ++k)
        for (std::size_t q = 0; q < 3; ++q) out.push_back(f.probe_piece(k, q).at(0));
    }
    return out;
  };
  const auto whole = run(60);
  for (const Step window : {1, 3, 7}) {
    INFO("window " << window);
    const auto cut = run(window);
    REQUIRE(cut.size() == whole.size());
    CHECK(std::memcmp(cut.data(), whole.data(), cut.size() * sizeof(double)) == 0);
  }
  std::vector<double> first;  // the first probe's values: they change from field step to field step
  for (std::size_t i = 0; i < whole.size(); i += 3) first.push_back(whole[i]);
  std::sort(first.begin(), first.end());
  CHECK(std::unique(first.begin(), first.end()) - first.begin() >= 10);
}

TEST_CASE("field: a field step equals its definition computed voxel by voxel (Euler and Heun, every boundary kind)") {
  // The reference: E(C)_i = c0 C_i + sum_a r_a (C_{i-e_a} + C_{i+e_a}) with the neighbour across a
  // face taken as C_i (no-flux), the face's value (fixed) or the wrapped voxel (periodic); Euler
  // C' = R(E(C)), Heun C' = R((C + E(E(C))) / 2), R = Kinetics::step; n sub-steps per field step.
  // Heun takes one pass per sub-step (a ring of first-stage planes) unless z is periodic, then two.
  const GridScheme scheme = GENERATE(GridScheme::euler, GridScheme::heun);
  const bool mm = GENERATE(false, true);
  const bool periodic_z = GENERATE(false, true);
  struct Case {
    int dims;
    std::array<std::size_t, 3> shape;
  };
  for (const Case cs : {Case{1, {17, 1, 1}}, Case{2, {9, 7, 1}}, Case{3, {8, 6, 5}}}) {
    GridFieldParams p;
    p.geometry.dims = cs.dims;
    p.geometry.shape = cs.shape;
    p.geometry.spacing = {3.0, 2.5, 2.0};
    p.diffusion = 0.5;
    p.tortuosity = 1.0;
    p.field_dt = 12.0;  // several sub-steps
    if (mm) {
      p.kinetics.vmax = 2e-2;
      p.kinetics.km = 0.3;
    } else {
      p.kinetics.tau = 40.0;
      p.kinetics.production = 1e-3;
    }
    p.scheme = scheme;
    p.boundary[0][0] = {GridBoundary::Kind::fixed, 0.7};
    p.boundary[0][1] = {GridBoundary::Kind::no_flux, 0.0};
    p.boundary[1][0].kind = p.boundary[1][1].kind = GridBoundary::Kind::periodic;
    p.boundary[2][0] = {GridBoundary::Kind::no_flux, 0.0};
    p.boundary[2][1] = {GridBoundary::Kind::fixed, 0.2};
    if (periodic_z) p.boundary[2][0].kind = p.boundary[2][1].kind = GridBoundary::Kind::periodic;
    GridField f("F", p);
    f.setup(1.0, 1, 0, 2);
    const GridGeometry& g = f.geometry();
    std::vector<double> c(g.size());
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = 0.4 + 0.35 * std::sin(1.3 * static_cast<double>(i));
    f.set_concentration(c);
    f.advance(0, 1);  // one field step of 12 ms
    REQUIRE(f.substeps() >= 2);

    Kinetics kin(p.kinetics);
    kin.set_step(f.substep());
    std::array<double, 3> r{0, 0, 0};
    for (std::size_t a = 0; a < 3; ++a)
      if (static_cast<int>(a) < cs.dims)
        r[a] = f.effective_diffusion() * f.substep() / (p.geometry.spacing[a] * p.geometry.spacing[a]);
    auto euler = [&](const std::vector<double>& u) {
      std::vector<double> o(u.size());
      for (std::size_t z = 0; z < cs.shape[2]; ++z)
        for (std::size_t y = 0; y < cs.shape[1]; ++y)
          for (std::size_t x = 0; x < cs.shape[0]; ++x) {
            const std::size_t i = g.index(x, y, z);
            const std::array<std::size_t, 3> at{x, y, z};
            std::array<std::array<double, 2>, 3> nb{};
            for (std::size_t a = 0; a < 3; ++a)
              for (int side = 0; side < 2; ++side) {
                std::array<std::size_t, 3> q = at;
                const std::size_t n = cs.shape[a];
                const bool outside = side == 0 ? at[a] == 0 : at[a] + 1 == n;
                const GridBoundary& b = p.boundary[a][static_cast<std::size_t>(side)];
                if (!outside) {
                  q[a] = side == 0 ? at[a] - 1 : at[a] + 1;
                } else if (b.kind == GridBoundary::Kind::periodic) {
                  q[a] = side == 0 ? n - 1 : 0;
                } else if (b.kind == GridBoundary::Kind::fixed && static_cast<int>(a) < cs.dims) {
                  nb[a][static_cast<std::size_t>(side)] = b.value;
                  continue;
                }
                nb[a][static_cast<std::size_t>(side)] = u[g.index(q[0], q[1], q[2])];
              }
            const double c0 = 1.0 - 2.0 * (r[0] + r[1] + r[2]);
            o[i] =
                c0 * u[i] + r[0] * (nb[0][0] + nb[0][1]) + r[1] * (nb[1][0] + nb[1][1]) + r[2] * (nb[2][0] + nb[2][1]);
          }
      return o;
    };
    std::vector<double> u = c;
    for (int s = 0; s < f.substeps(); ++s) {
      std::vector<double> d = euler(u);
      if (scheme == GridScheme::heun) {
        const std::vector<double> e2 = euler(d);
        for (std::size_t i = 0; i < u.size(); ++i) d[i] = 0.5 * (u[i] + e2[i]);
      }
      for (std::size_t i = 0; i < u.size(); ++i) u[i] = kin.step(d[i]);
    }
    const auto got = f.concentration();
    double worst = 0.0;
    for (std::size_t i = 0; i < u.size(); ++i) worst = std::max(worst, std::fabs(got[i] / u[i] - 1.0));
    INFO("dims " << cs.dims << ", " << (scheme == GridScheme::heun ? "heun" : "euler") << ", " << (mm ? "MM" : "affine")
                 << (periodic_z ? ", periodic z" : "") << ", sub-steps " << f.substeps()
                 << ": worst relative difference " << worst);
    CHECK(worst <= 4e-16);
  }
}
