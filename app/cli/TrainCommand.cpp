// `prisma train`: a preset plus the overrides into prisma::train::train(), with a
// progress bar (ETA) on stderr and the final metrics on stdout. Ctrl-C stops cleanly: the
// trainer writes a checkpoint the run can be resumed from (--resume DIR); a second Ctrl-C
// kills the process as usual.
//
// Data-parallel: `--nproc N` starts N local workers (LocalLauncher.h); a worker, or a
// process of a multi-machine job (DistributedArgs.h), joins the Gloo process group and
// trains its share of every batch. Only rank 0 draws progress and prints the summary.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/DistributedArgs.h"
#include "app/cli/LocalLauncher.h"

#include "model/Error.h"
#include "model/io/OutputPaths.h"
#include "model/train/Presets.h"
#include "model/train/Trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <ostream>

namespace prisma::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBarWidth = 28;
constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

// Set by the SIGINT handler, read by the progress callback: the only state a signal
// handler may touch is a lock-free atomic or a volatile sig_atomic_t.
volatile std::sig_atomic_t gInterrupted = 0;

void onInterrupt(int) {
  gInterrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

const std::string kUsage =
    "usage: prisma train --preset NAME|FILE.json [--out DIR] [--layers N] [--attn-only] [--d-model D]\n"
    "                    [--heads H] [--epochs E] [--max-steps S] [--lr X] [--batch B] [--seed S]\n"
    "                    [--log-every N] [--checkpoint-every N]\n"
    "                    [--from MODEL [--new-head C] [--freeze-backbone]] [--skip-nonfinite]\n"
    "       prisma train --resume DIR [--epochs E] [--max-steps S] [--lr X] [--log-every N] ...\n"
    "  data-parallel: " + std::string(kDistributedUsage) + "\n"
    "  (--batch is the global batch, shared among the processes)";

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  char buf[32];
  const long long t = std::llround(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  return buf;
}

std::string metrics(const train::EvalMetrics& m) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "loss %.4f acc %.4f top5 %.4f", m.loss, m.top1, m.top5);
  return buf;
}

double doubleValue(const CliArgs& a, const std::string& name) {
  const std::string v = a.value(name);
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    throw UsageError("option --" + name + " needs a number, got '" + v + "'");
  }
}

train::Overrides overridesFrom(const CliArgs& a) {
  train::Overrides o;
  auto integer = [&](const char* option, const char* path) {
    if (a.has(option)) o[path] = a.intValue(option, 0);
  };
  integer("layers", "model.n_layers");
  integer("d-model", "model.d_model");
  integer("heads", "model.n_heads");
  // The presets derive d_head = d_model / n_heads; a stored d_head must not pin it.
  if (a.has("d-model") || a.has("heads")) o["model.d_head"] = nullptr;
  if (a.flag("attn-only")) o["model.attn_only"] = true;
  integer("epochs", "optimization.epochs");
  integer("max-steps", "optimization.max_steps");
  if (a.has("lr")) o["optimization.lr"] = doubleValue(a, "lr");
  integer("batch", "optimization.batch_size");
  if (a.has("seed")) {
    const int seed = a.intValue("seed", 0);
    if (seed < 0) throw UsageError("option --seed needs a non-negative integer");
    o["optimization.seed"] = seed;
    o["optimization.data_seed"] = seed;
  }
  integer("log-every", "logging.log_every");
  integer("checkpoint-every", "logging.checkpoint_every");
  if (a.has("from")) o["finetune.from"] = a.value("from");
  integer("new-head", "finetune.new_head");
  if (a.flag("freeze-backbone")) o["finetune.freeze_backbone"] = true;
  return o;
}

// One line redrawn in place: [#####.....]  42%  step 420/1000  loss 0.512  ...
class ProgressBar {
public:
  explicit ProgressBar(std::ostream& err) : err_(err) {}

  void operator()(const train::TrainProgress& p) {
    using train::TrainPhase;
    if (gInterrupted && !stopAsked_) {
      stopAsked_ = true;
      if (control) control->requestStop();
      clear();
      err_ << "interrupted: stopping after this update and writing a checkpoint (Ctrl-C again to kill)\n";
    }
    switch (p.phase) {
      case TrainPhase::Preparing:
        if (p.message != "evaluating") {
          clear();
          err_ << p.message << "...\n";
        }
        return;
      case TrainPhase::Evaluated:
        if (p.row) {
          clear();
          err_ << "step " << p.row->step << ": train "
               << metrics(train::classifierMetrics(*p.row, train::Part::Train)) << " | test "
               << metrics(train::classifierMetrics(*p.row, train::Part::Test)) << "\n";
        }
        draw(p);
        return;
      case TrainPhase::Finished:
        clear();
        return;
      default:
        if (Clock::now() - lastDraw_ >= kRedrawInterval) draw(p);
    }
  }

  train::TrainControl* control = nullptr;

  // Ends the bar's line, e.g. before an error message.
  void clear() {
    if (drawn_) err_ << "\r\033[K";
    drawn_ = false;
  }

private:
  void draw(const train::TrainProgress& p) {
    lastDraw_ = Clock::now();
    const double frac = p.total_steps > 0 ? double(p.step) / double(p.total_steps) : 0.0;
    const int filled = static_cast<int>(frac * kBarWidth);
    char line[256];
    std::snprintf(line, sizeof line, "\r[%s%s] %3.0f%%  step %lld/%lld  loss %.4f  lr %.2e  %.0f img/s  ETA %s\033[K",
                  std::string(static_cast<size_t>(filled), '#').c_str(),
                  std::string(static_cast<size_t>(kBarWidth - filled), '.').c_str(), 100.0 * frac,
                  static_cast<long long>(p.step), static_cast<long long>(p.total_steps), p.batch_loss,
                  std::isfinite(p.lr) ? p.lr : 0.0, std::isfinite(p.images_per_s) ? p.images_per_s : 0.0,
                  p.phase == train::TrainPhase::Paused ? "paused" : duration(p.eta_s).c_str());
    err_ << line << std::flush;
    drawn_ = true;
  }

  std::ostream& err_;
  Clock::time_point lastDraw_{};
  bool drawn_ = false;
  bool stopAsked_ = false;
};

}  // namespace

int trainCommand(const Args& args, std::ostream& out) {
  std::vector<std::string> valued{"preset",    "out",       "layers",    "d-model", "heads",
                                  "epochs",    "max-steps", "lr",        "batch",   "seed",
                                  "log-every", "checkpoint-every", "from", "new-head", "resume"};
  for (const auto& name : distributedOptionNames()) valued.push_back(name);
  CliArgs a(args, valued, {"attn-only", "freeze-backbone", "skip-nonfinite"});
  if (!a.positionals().empty()) throw UsageError("unexpected argument '" + a.positionals()[0] + "'\n" + kUsage);
  const bool resume = a.has("resume");
  if (!resume && !a.has("preset")) {
    std::string known;
    for (const auto& p : train::listPresets()) known += (known.empty() ? "" : ", ") + p.name;
    throw UsageError(std::string("--preset is required (presets: ") + (known.empty() ? "none found" : known) + ")\n" +
                     kUsage);
  }
  if (resume && (a.has("preset") || a.has("out")))
    throw UsageError("--resume DIR continues the run in DIR with its own preset: drop --preset/--out");
  if ((a.has("new-head") || a.flag("freeze-backbone")) && !a.has("from") && !resume)
    throw UsageError("--new-head and --freeze-backbone need --from MODEL");

  const train::Overrides overrides = overridesFrom(a);
  train::TrainConfig config;
  train::TrainOptions options;
  if (resume) {
    options.run_dir = a.value("resume");
    options.resume = true;
    config = train::resumeConfig(options.run_dir, overrides);
  } else {
    config = train::loadPreset(a.value("preset"), overrides);
    options.run_dir = a.has("out") ? a.value("out") : train::defaultRunDir(config);
    // The run folder must not be (or hold) what the run reads.
    std::vector<std::string> inputs =
        config.finetune.from.empty() ? std::vector<std::string>{} : io::modelInputPaths(config.finetune.from);
    inputs.push_back(config.dataset.path);
    io::refuseOutputOverInputs(options.run_dir, io::OutputKind::Folder, inputs);
  }
  options.skip_nonfinite_steps = a.flag("skip-nonfinite");
  // The launcher names the run folder once, so its workers agree on it.
  if (auto code = launchLocalWorkersIfRequested(
          "train", a, args, resume || a.has("out") ? std::vector<std::string>{} : std::vector<std::string>{"--out", options.run_dir}))
    return *code;
  const DistributedArgs dist = DistributedArgs::from(a);
  if (dist.distributed() && config.optimization.batch_size < dist.world_size)
    throw UsageError("--batch " + std::to_string(config.optimization.batch_size) +
                     " is the global batch: it must be at least the world size " + std::to_string(dist.world_size));
  const std::unique_ptr<distributed::GlooCollective> group = dist.join();
  options.collective = group.get();
  options.threads = dist.threads();
  const bool rank0 = dist.rank == 0;

  train::TrainControl control;
  ProgressBar bar(std::cerr);
  bar.control = &control;
  options.control = &control;
  if (rank0) {
    options.progress = [&bar](const train::TrainProgress& p) { bar(p); };
  } else {
    // Silent, but a Ctrl-C still reaches the trainer, which stops every rank together.
    options.progress = [&control](const train::TrainProgress&) {
      if (gInterrupted) control.requestStop();
    };
  }
  gInterrupted = 0;
  auto previous = std::signal(SIGINT, onInterrupt);
  if (rank0)
    std::cerr << (resume ? "resuming " : "training ") << config.name << " in " << options.run_dir
              << (dist.distributed() ? " on " + std::to_string(dist.world_size) + " processes" : std::string()) << "\n";
  train::TrainResult r;
  try {
    r = train::train(config, options);
  } catch (...) {
    std::signal(SIGINT, previous);
    bar.clear();
    throw;
  }
  std::signal(SIGINT, previous);
  if (!rank0) return 0;

  char line[160];
  std::snprintf(line, sizeof line, "%lld updates, %lld images (%.2f epochs), %s training, %.0f img/s this session",
                static_cast<long long>(r.steps), static_cast<long long>(r.samples), r.final.epoch,
                duration(r.elapsed_s).c_str(), r.images_per_s);
  const train::EvalMetrics trainPart = train::classifierMetrics(r.final, train::Part::Train);
  const train::EvalMetrics testPart = train::classifierMetrics(r.final, train::Part::Test);
  out << "run:      " << r.run_dir << "\n"
      << "stopped:  " << r.stop_reason << " after " << line << "\n"
      << "train:    " << metrics(trainPart) << " (" << trainPart.count << " items)\n"
      << "test:     " << metrics(testPart) << " (" << testPart.count << " items)\n"
      << (r.skipped_steps > 0 ? "skipped:  " + std::to_string(r.skipped_steps) + " updates with a non-finite loss\n"
                              : std::string())
      << "model:    prisma info " << r.run_dir << "\n"
      << "resume:   prisma train --resume " << r.run_dir << " --max-steps N\n";
  return 0;
}

}  // namespace prisma::cli
