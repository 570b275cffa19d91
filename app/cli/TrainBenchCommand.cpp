// `prisma bench train`: training throughput (images/s) of the trainer itself — data
// batching, forward, backward, clipping, AdamW and the schedule, as `prisma train` runs
// them — for the induction preset and the 4-layer mnist preset at batch 64. Untimed
// warm-up updates first; then the median of a few repetitions. bench/compare_train.sh
// runs this and the plain-PyTorch loop (bench/train_loop_pytorch.py) alternately.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"

#include "model/Error.h"
#include "model/runtime/Runtime.h"
#include "model/train/Presets.h"
#include "model/train/Trainer.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>

namespace prisma::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultBatch = 64;
constexpr int kDefaultWarmup = 20;
constexpr int kDefaultSteps = 200;
constexpr int kQuickSteps = 50;
constexpr int kDefaultReps = 3;
constexpr int kMatmulSize = 1024;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// One repetition: images/s over the updates after `warmup`.
double measure(const train::TrainConfig& cfg, int warmup, int steps) {
  Clock::time_point t0{}, t1{};
  int64_t s0 = 0, s1 = 0;
  train::TrainOptions o;
  o.threads = at::get_num_threads();
  o.progress = [&](const train::TrainProgress& p) {
    if (p.phase != train::TrainPhase::Training) return;
    if (p.step == warmup) t0 = Clock::now(), s0 = p.samples;
    if (p.step == warmup + steps) t1 = Clock::now(), s1 = p.samples;
  };
  train::train(cfg, o);
  return double(s1 - s0) / std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace

int benchTrainCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"preset", "steps", "warmup", "reps", "batch", "threads"}, {"quick"});
  std::vector<std::string> presets = a.values("preset");
  if (presets.empty()) presets = {"induction", "mnist"};
  const int steps = a.intValue("steps", a.flag("quick") ? kQuickSteps : kDefaultSteps, kCount);
  const int warmup = a.intValue("warmup", kDefaultWarmup, kNonNegative);
  const int reps = a.intValue("reps", a.flag("quick") ? 1 : kDefaultReps, kCount);
  const int batch = a.intValue("batch", kDefaultBatch, kCount);
  if (steps < 1 || warmup < 1 || reps < 1 || batch < 1)
    throw UsageError("--steps, --warmup, --reps and --batch must be positive");
  if (a.has("threads")) at::set_num_threads(a.intValue("threads", 1, kCount));

  const auto blas = runtime::blasInfo();
  out << "prisma bench train: batch " << batch << ", " << warmup << " warm-up + " << steps << " timed updates, "
      << reps << " rep(s), " << at::get_num_threads() << " threads, " << blas.vendor
      << (blas.core.empty() ? "" : " core " + blas.core) << ", " << runtime::cpuModel() << "\n";
  char line[256];
  for (const auto& name : presets) {
    train::TrainConfig cfg;
    try {
      cfg = train::loadPreset(name, {{"optimization.batch_size", batch},
                                     {"optimization.max_steps", warmup + steps},
                                     {"optimization.epochs", 0},
                                     {"logging.log_every", 0},
                                     {"logging.eval_batches", 1},
                                     {"logging.checkpoint_every", 0},
                                     {"logging.log_spaced_checkpoints", false}});
      std::vector<double> rates;
      for (int r = 0; r < reps; ++r) rates.push_back(measure(cfg, warmup, steps));
      std::string all;
      for (double x : rates) all += (all.empty() ? "" : " ") + std::to_string(static_cast<long>(x));
      std::snprintf(line, sizeof line, "%-14s %2d layer(s) d%-4d  %8.1f images/s  %7.2f ms/update  (reps: %s)\n",
                    name.c_str(), cfg.model.n_layers, cfg.model.d_model, median(rates), 1e3 * batch / median(rates),
                    all.c_str());
      out << line << std::flush;
    } catch (const Error& e) {
      out << name << ": skipped (" << e.what() << ")\n";
    }
  }
  std::snprintf(line, sizeof line, "matmul %dx%d float32: %.1f GFLOP/s\n", kMatmulSize, kMatmulSize,
                runtime::measureMatmulGflops(kMatmulSize));
  out << line;
  return 0;
}

}  // namespace prisma::cli
