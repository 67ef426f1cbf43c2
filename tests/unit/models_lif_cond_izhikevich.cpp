// lif_cond and izhikevich: parameter tables (defaults, presets, errors naming the key), ports,
// registry names, and identical results for any thread count (Odeint over owned ranges).
#include <catch2/catch.hpp>
#include <string>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/izhikevich.hpp"
#include "nmsim/models/lif_cond.hpp"
#include "nmsim/models/register.hpp"

using namespace nmsim;
using namespace nmsim::models;

namespace {

using Value = decltype(ParamValue{}.value);

ParamTable table(const std::string& path, std::initializer_list<std::pair<const char*, Value>> kv) {
  ParamTable t(path);
  for (const auto& [k, v] : kv) t.set(k, ParamValue{v, {}});
  return t;
}

// Key path of the ConfigError thrown by f, or "" if none.
template <class F>
std::string error_key(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "";
}

}  // namespace

TEST_CASE("lif_cond params: NEST iaf_cond_exp defaults, overrides and errors naming the key") {
  const LifCondParams d = LifCondParams::from(ParamTable("population.p.params"));
  CHECK(d.c_m == 250.0);
  CHECK(d.g_l == 16.6667);
  CHECK(d.e_l == -70.0);
  CHECK(d.e_ex == 0.0);
  CHECK(d.e_in == -85.0);
  CHECK(d.v_th == -55.0);
  CHECK(d.v_reset == -60.0);
  CHECK(d.t_ref == 2.0);
  CHECK(d.tau_syn_ex == 0.2);
  CHECK(d.tau_syn_in == 2.0);
  CHECK(d.i_e == 0.0);
  CHECK(d.integrator == LifCondParams::Integrator::exponential);

  const auto p = LifCondParams::from(table("population.p.params", {{"g_l", 10.0}, {"integrator", std::string("rk4")}}));
  CHECK(p.g_l == 10.0);
  CHECK(p.integrator == LifCondParams::Integrator::rk4);

  const std::string path = "population.p.params.";
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"tau_m", 10.0}})); }) == path + "tau_m");
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"c_m", -1.0}})); }) == path + "c_m");
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"g_l", 0.0}})); }) == path + "g_l");
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"tau_syn_ex", 0.0}})); }) ==
        path + "tau_syn_ex");
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"t_ref", -1.0}})); }) == path + "t_ref");
  CHECK(error_key([&] { LifCondParams::from(table("population.p.params", {{"v_th", -65.0}})); }) == path + "v_th");
  CHECK(error_key([&] {
          LifCondParams::from(table("population.p.params", {{"integrator", std::string("rk45")}}));
        }) == path + "integrator");
  CHECK(error_key([&] { LifCondInit::from(table("population.p.init", {{"g_ex", -1.0}})); }) ==
        "population.p.init.g_ex");
  CHECK(error_key([&] { LifCondInit::from(table("population.p.init", {{"w", 1.0}})); }) == "population.p.init.w");
}

TEST_CASE("izhikevich params: presets of Izhikevich (2003), explicit a/b/c/d override, errors") {
  struct Expect {
    const char* name;
    double a, b, c, d;
  };
  for (const Expect& e : {Expect{"RS", 0.02, 0.2, -65, 8}, Expect{"IB", 0.02, 0.2, -55, 4},
                          Expect{"CH", 0.02, 0.2, -50, 2}, Expect{"FS", 0.1, 0.2, -65, 2},
                          Expect{"LTS", 0.02, 0.25, -65, 2}, Expect{"TC", 0.02, 0.25, -65, 0.05},
                          Expect{"RZ", 0.1, 0.26, -65, 2}}) {
    const auto p = IzhikevichParams::from(table("population.p.params", {{"preset", std::string(e.name)}}));
    CAPTURE(e.name);
    CHECK(p.a == e.a);
    CHECK(p.b == e.b);
    CHECK(p.c == e.c);
    CHECK(p.d == e.d);
    CHECK(p.v_peak == 30.0);
  }
  const auto def = IzhikevichParams::from(ParamTable("population.p.params"));
  CHECK(def.preset == "RS");
  CHECK(def.integrator == IzhikevichParams::Integrator::izhikevich2003);
  const auto fs = IzhikevichParams::from(
      table("population.p.params", {{"preset", std::string("FS")}, {"d", 5.0}, {"integrator", std::string("rk4")}}));
  CHECK(fs.a == 0.1);
  CHECK(fs.d == 5.0);
  CHECK(fs.integrator == IzhikevichParams::Integrator::rk4);

  const std::string path = "population.p.params.";
  CHECK(error_key([&] { IzhikevichParams::from(table("population.p.params", {{"preset", std::string("XX")}})); }) ==
        path + "preset");
  CHECK(error_key([&] { IzhikevichParams::from(table("population.p.params", {{"a", 0.0}})); }) == path + "a");
  CHECK(error_key([&] { IzhikevichParams::from(table("population.p.params", {{"c", 40.0}})); }) == path + "c");
  CHECK(error_key([&] { IzhikevichParams::from(table("population.p.params", {{"tau_m", 1.0}})); }) ==
        path + "tau_m");
  CHECK(error_key([&] {
          IzhikevichParams::from(table("population.p.params", {{"integrator", std::string("rk2")}}));
        }) == path + "integrator");
  CHECK(error_key([&] { IzhikevichInit::from(table("population.p.init", {{"w", 1.0}})); }) == "population.p.init.w");
}

TEST_CASE("izhikevich init: v defaults to c, u to b v of each neuron; given values are used") {
  Simulation sim({0.1, 1, 1});
  auto& a = sim.add_population<Izhikevich>("a", 2, IzhikevichParams::preset_params("IB"));
  IzhikevichInit init;
  init.v = Distribution::uniform(-80, -60);
  init.v_given = true;
  auto& b = sim.add_population<Izhikevich>("b", 50, IzhikevichParams::preset_params("TC"), init);
  IzhikevichInit init_u;
  init_u.u = Distribution::constant(3.0);
  init_u.u_given = true;
  auto& c = sim.add_population<Izhikevich>("c", 2, IzhikevichParams::preset_params("RS"), init_u);
  sim.prepare();
  CHECK(a.variable("v")[1] == -55.0);
  CHECK(a.variable("u")[1] == 0.2 * -55.0);
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(b.variable("v")[i] >= -80.0);
    CHECK(b.variable("v")[i] < -60.0);
    CHECK(b.variable("u")[i] == 0.25 * b.variable("v")[i]);
  }
  CHECK(b.variable("v")[0] != b.variable("v")[1]);
  CHECK(c.variable("v")[0] == -65.0);
  CHECK(c.variable("u")[0] == 3.0);
  CHECK(b.variable("u").units == "pA");
  CHECK(b.variable("v").units == "mV");
}

TEST_CASE("lif_cond and izhikevich: ports, variables and registry names") {
  LifCond lc("lc", 1);
  const auto lp = lc.ports();
  REQUIRE(lp.size() == 2);
  CHECK(lp[0].name == "exc");
  CHECK(lp[1].name == "inh");
  for (const auto& p : lp) {
    CHECK(p.units == "nS");
    CHECK(p.kind == PortKind::jump);
    CHECK(p.nonnegative_weights);
  }
  CHECK(lc.variables() == std::vector<std::string>{"v", "g_ex", "g_in"});
  CHECK(lc.variable("g_in").units == "nS");
  CHECK_THROWS_AS(lc.variable("u"), ConfigError);

  Izhikevich iz("iz", 1);
  const auto ip = iz.ports();
  REQUIRE(ip.size() == 2);
  for (const auto& p : ip) {
    CHECK(p.units == "pA");
    CHECK(p.kind == PortKind::pulse);
    CHECK(!p.nonnegative_weights);
  }
  CHECK(iz.variables() == std::vector<std::string>{"v", "u"});
  CHECK_THROWS_AS(iz.variable("g_ex"), ConfigError);

  Registry reg;
  register_models(reg);
  CHECK(reg.has_model("lif"));
  CHECK(reg.has_model("lif_cond"));
  CHECK(reg.has_model("izhikevich"));
  auto pop = reg.make_population("izhikevich", "x", 3, table("population.x.params", {{"preset", std::string("CH")}}),
                                 ParamTable("population.x.init"));
  CHECK(pop->model() == "izhikevich");
  CHECK(error_key([&] {
          reg.make_population("lif_cond", "y", 3, table("population.y.params", {{"bogus", 1.0}}),
                              ParamTable("population.y.init"));
        }) == "population.y.params.bogus");
}

TEST_CASE("lif_cond and izhikevich: the same spikes and state for 1 and 3 threads, every integrator") {
  auto run_lif_cond = [](int threads, LifCondParams::Integrator integ) {
    Simulation sim({0.1, 11, threads});
    LifCondParams p;
    p.integrator = integ;
    LifCondInit init;
    init.v = Distribution::uniform(-70, -56);
    init.v_given = true;
    auto& n = sim.add_population<LifCond>("n", 37, p, init);
    sim.add_stimulus<PoissonInput>("pe", n, "exc", 4000.0, 3.0);
    sim.add_stimulus<PoissonInput>("pi", n, "inh", 1000.0, 3.0);
    sim.add_stimulus<CurrentInput>("dc", n, std::vector<double>{0.0}, std::vector<double>{260.0});
    sim.run(200.0);
    std::vector<double> out(n.v().begin(), n.v().end());
    for (std::size_t i = 0; i < 37; ++i) out.push_back(static_cast<double>(sim.spike_counts("n")[i]));
    return out;
  };
  for (auto integ : {LifCondParams::Integrator::exponential, LifCondParams::Integrator::rk4}) {
    const auto one = run_lif_cond(1, integ), three = run_lif_cond(3, integ);
    CHECK(one == three);
    double spikes = 0;
    for (std::size_t i = 37; i < one.size(); ++i) spikes += one[i];
    CHECK(spikes > 37);  // the network is active: the comparison means something
  }

  auto run_izh = [](int threads, IzhikevichParams::Integrator integ) {
    Simulation sim({0.1, 5, threads});
    IzhikevichParams p = IzhikevichParams::preset_params("RS");
    p.integrator = integ;
    IzhikevichInit init;
    init.v = Distribution::uniform(-70, -60);
    init.v_given = true;
    auto& n = sim.add_population<Izhikevich>("n", 41, p, init);
    sim.add_stimulus<PoissonInput>("pe", n, "exc", 500.0, 20.0);
    sim.add_stimulus<CurrentInput>("dc", n, std::vector<double>{0.0}, std::vector<double>{4.0});
    sim.run(200.0);
    std::vector<double> out;
    for (std::size_t i = 0; i < 41; ++i) {
      out.push_back(n.v(i));
      out.push_back(n.u(i));
      out.push_back(static_cast<double>(sim.spike_counts("n")[i]));
    }
    return out;
  };
  for (auto integ : {IzhikevichParams::Integrator::izhikevich2003, IzhikevichParams::Integrator::euler,
                     IzhikevichParams::Integrator::rk4}) {
    const auto one = run_izh(1, integ), three = run_izh(3, integ);
    CHECK(one == three);
    double spikes = 0;
    for (std::size_t i = 2; i < one.size(); i += 3) spikes += one[i];
    CHECK(spikes > 41);
  }
}

TEST_CASE("rk4 populations of different sizes in one simulation step like each one alone") {
  // The Odeint steppers are per thread and shared by populations: they must resize per range.
  auto state = [](std::vector<std::size_t> sizes, std::size_t which) {
    Simulation sim({0.1, 3, 1});
    IzhikevichParams p = IzhikevichParams::preset_params("CH");
    p.integrator = IzhikevichParams::Integrator::rk4;
    LifCondParams q;
    q.integrator = LifCondParams::Integrator::rk4;
    IzhikevichInit init;
    init.v = Distribution::uniform(-70, -60);
    init.v_given = true;
    std::vector<Population*> pops;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      // (append, not "p" + to_string: GCC 12 reports a false -Wrestrict on the latter)
      std::string name = "p", dc = "dc";
      name += std::to_string(k);
      dc += std::to_string(k);
      if (k % 2 == 0)
        pops.push_back(&sim.add_population<Izhikevich>(name, sizes[k], p, init));
      else
        pops.push_back(&sim.add_population<LifCond>(name, sizes[k], q));
      sim.add_stimulus<CurrentInput>(dc, *pops.back(), std::vector<double>{0.0},
                                     std::vector<double>{k % 2 == 0 ? 10.0 : 400.0});
    }
    sim.run(50.0);
    std::vector<double> v;
    const VarView view = pops[which]->variable("v");
    for (std::size_t i = 0; i < pops[which]->size(); ++i) v.push_back(view[i]);
    return v;
  };
  const auto alone0 = state({5}, 0);
  const auto mixed = state({5, 300, 2, 1000}, 0);
  CHECK(alone0 == mixed);
  CHECK(state({1000, 3}, 1) == state({2, 3}, 1));
}
