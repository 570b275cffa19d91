// `prisma train`: a preset plus options and `--set` overrides into prisma::train::train(), with a
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
#include "model/core/Json.h"
#include "model/io/OutputPaths.h"
#include "model/train/Presets.h"
#include "model/train/Trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <ostream>
#include <utility>

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

// Every option `prisma train` accepts, with what it sets: the parser and --help both read
// this table, so the help cannot miss an option.
struct OptionSpec {
  const char* name;
  const char* value;  // nullptr for a flag
  const char* help;
};

const OptionSpec kOptions[] = {
    {"preset", "NAME|FILE.json", "the run's preset: a name (see below) or a preset file"},
    {"out", "DIR", "the run folder (default runs/PRESET-YYYYmmdd-HHMMSS)"},
    {"resume", "DIR", "continue the run in DIR from its latest checkpoint, with its own preset.json"},
    {"layers", "N", "model.n_layers"},
    {"d-model", "D", "model.d_model (d_head follows as d_model / heads)"},
    {"heads", "H", "model.n_heads (d_head follows as d_model / heads)"},
    {"attn-only", nullptr, "model.attn_only = true: attention-only blocks, no MLP"},
    {"no-attn-only", nullptr, "model.attn_only = false: attention and MLP blocks"},
    {"init", "SCHEME", "model.init: vit_prisma_2023, normal(STD) or trunc_normal(STD)"},
    {"epochs", "E", "optimization.epochs (0: bounded by --max-steps only)"},
    {"max-steps", "S", "optimization.max_steps (0: bounded by --epochs only)"},
    {"lr", "X", "optimization.lr, the peak learning rate"},
    {"batch", "B", "optimization.batch_size, the global batch (shared among data-parallel processes)"},
    {"weight-decay", "X", "optimization.weight_decay (AdamW's decoupled decay)"},
    {"seed", "S", "optimization.seed and optimization.data_seed (initialisation and data order)"},
    {"log-every", "N", "logging.log_every: evaluate and log every N updates (0: at the end only)"},
    {"eval-batches", "N", "logging.eval_batches: batches of each split per evaluation (0: whole splits)"},
    {"checkpoint-every", "N", "logging.checkpoint_every (0: log-spaced and final checkpoints only)"},
    {"from", "MODEL", "finetune.from: fine-tune this model instead of training a fresh one"},
    {"new-head", "C", "finetune.new_head: replace the head by a fresh one for C classes (needs --from)"},
    {"freeze-backbone", nullptr, "finetune.freeze_backbone: train the head only (needs --from)"},
    {"set", "SECTION.FIELD=VALUE",
     "any field of the preset, e.g. --set model.n_layers=3, --set optimization.schedule.type=constant,\n"
     "      --set dataset.mean=[0.5] (lists and objects as JSON); repeatable; applied after the options above"},
    {"nproc", "N", "data-parallel: start N local worker processes"},
    {"rank", "R", "data-parallel: this process's rank (or RANK)"},
    {"world-size", "W", "data-parallel: number of processes (or WORLD_SIZE)"},
    {"master-addr", "HOST", "data-parallel: rank 0's address (or MASTER_ADDR)"},
    {"master-port", "P", "data-parallel: rank 0's port (or MASTER_PORT)"},
    {"timeout-s", "S", "data-parallel: seconds to wait for the other processes and every collective"},
    {"skip-nonfinite", nullptr,
     "skip updates whose loss or gradient is NaN or infinite (default: stop the run there, keeping the last "
     "good checkpoint)"},
    {"print-preset", nullptr, "print the resolved preset (every field, after the options and --set) and exit"},
    {"help", nullptr, "print this help"},
};

std::string usage() {
  return "usage: prisma train --preset NAME|FILE.json [--out DIR] [OPTIONS] [--set SECTION.FIELD=VALUE]...\n"
         "       prisma train --resume DIR [--epochs E] [--max-steps S] [--lr X] [--log-every N] ...\n"
         "       prisma train --help\n";
}

std::string help() {
  std::string h = usage() + "\noptions:\n";
  for (const auto& o : kOptions) {
    std::string left = std::string("--") + o.name + (o.value ? std::string(" ") + o.value : "");
    h += "  " + left + "\n      " + o.help + "\n";
  }
  std::string known;
  for (const auto& p : train::listPresets()) known += (known.empty() ? "" : ", ") + p.name;
  h += "\npresets: " + (known.empty() ? std::string("none found") : known) +
       "\n--set takes any field of the preset format (prisma train --preset NAME writes the whole resolved "
       "preset to DIR/preset.json); a field that does not exist or a value of the wrong kind is a usage error.\n\n";
  return h + kGlobalOptionsHelp;
}

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
  return parseRealOption(a.value(name), name, 0.0, std::numeric_limits<double>::max());
}

train::Overrides overridesFrom(const CliArgs& a) {
  train::Overrides o;
  auto integer = [&](const char* option, const char* path, IntRange range) {
    if (a.has(option)) o[path] = a.intValue(option, 0, range);
  };
  integer("layers", "model.n_layers", kCount);
  integer("d-model", "model.d_model", kCount);
  integer("heads", "model.n_heads", kCount);
  if (a.flag("attn-only") && a.flag("no-attn-only")) throw UsageError("--attn-only and --no-attn-only contradict each other");
  if (a.flag("attn-only")) o["model.attn_only"] = true;
  if (a.flag("no-attn-only")) o["model.attn_only"] = false;
  if (a.has("init")) {
    try {
      o["model.init"] = toString(initSchemeFromString(a.value("init"), "", ""));
    } catch (const Error& e) {
      throw UsageError("option --init: " + std::string(e.what()));
    }
  }
  integer("epochs", "optimization.epochs", kNonNegative);
  integer("max-steps", "optimization.max_steps", kNonNegative);
  if (a.has("lr")) o["optimization.lr"] = doubleValue(a, "lr");
  integer("batch", "optimization.batch_size", kCount);
  if (a.has("weight-decay")) o["optimization.weight_decay"] = doubleValue(a, "weight-decay");
  if (a.has("seed")) {
    const int seed = a.intValue("seed", 0, kNonNegative);
    o["optimization.seed"] = seed;
    o["optimization.data_seed"] = seed;
  }
  integer("log-every", "logging.log_every", kNonNegative);
  integer("eval-batches", "logging.eval_batches", kNonNegative);
  integer("checkpoint-every", "logging.checkpoint_every", kNonNegative);
  if (a.has("from")) o["finetune.from"] = a.value("from");
  integer("new-head", "finetune.new_head", kCount);
  if (a.flag("freeze-backbone")) o["finetune.freeze_backbone"] = true;
  return o;
}

std::string keysOf(const nlohmann::json& object) {
  std::string keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
  return keys;
}

// --set PATH=TEXT as an override. The preset format itself (every field a TrainConfig
// writes, at its default) says which paths exist and what kind of value each takes, so
// every field a preset can hold is settable and nothing else is.
std::pair<std::string, nlohmann::json> parseSet(const std::string& arg, const nlohmann::json& schema) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("--set needs SECTION.FIELD=VALUE, got '" + arg + "'");
  const std::string path = arg.substr(0, eq), text = arg.substr(eq + 1);
  const nlohmann::json* node = &schema;
  std::string walked;
  size_t begin = 0;
  while (true) {
    const size_t dot = path.find('.', begin);
    const std::string key = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    if (!node->is_object() || !node->contains(key)) {
      const std::string where = walked.empty() ? "a preset's sections are" : "the fields of '" + walked + "' are";
      throw UsageError("--set " + arg + ": unknown field '" + path + "' (" + where + ": " +
                       (node->is_object() ? keysOf(*node) : std::string("none; it is a value")) + ")");
    }
    node = &(*node)[key];
    walked += (walked.empty() ? "" : ".") + key;
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  if (node->is_string()) {
    // Text as typed; a JSON string ('"posX"', what --print-preset shows) is taken as its value.
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      try {
        const nlohmann::json quoted = parseJson(text, "--set " + arg);
        if (quoted.is_string()) return {path, quoted};
      } catch (const Error&) {
      }
    }
    return {path, text};
  }
  auto bad = [&](const std::string& kind) {
    return UsageError("--set " + arg + ": '" + path + "' needs " + kind + ", got '" + text + "'");
  };
  nlohmann::json value;
  try {
    value = parseJson(text, "--set " + arg);
  } catch (const Error&) {
    value = nlohmann::json::value_t::discarded;
  }
  if (node->is_boolean() && !value.is_boolean()) throw bad("true or false");
  if (node->is_number_integer() && !value.is_number_integer()) throw bad("a whole number");
  if (node->is_number_float() && !value.is_number()) throw bad("a number");
  if (node->is_array() && !value.is_array()) throw bad("a JSON list, e.g. [0.5]");
  if (node->is_object() && !value.is_object()) throw bad("a JSON object");
  if (node->is_null() && (value.is_discarded() || value.is_object() || value.is_array()))
    throw bad("a number or null");
  return {path, value};
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
  std::vector<std::string> valued, flags;
  for (const auto& o : kOptions) (o.value ? valued : flags).push_back(o.name);
  for (const auto& name : distributedOptionNames())  // kOptions documents them; never fail to parse one
    if (std::find(valued.begin(), valued.end(), name) == valued.end()) valued.push_back(name);
  CliArgs a(args, valued, flags);
  if (a.flag("help")) {
    out << help();
    return 0;
  }
  if (!a.positionals().empty()) throw UsageError("unexpected argument '" + a.positionals()[0] + "'\n" + usage());
  const bool resume = a.has("resume");
  if (!resume && !a.has("preset")) {
    std::string known;
    for (const auto& p : train::listPresets()) known += (known.empty() ? "" : ", ") + p.name;
    throw UsageError(std::string("--preset is required (presets: ") + (known.empty() ? "none found" : known) + ")\n" +
                     usage() + "(prisma train --help lists every option)");
  }
  if (resume && (a.has("preset") || a.has("out")))
    throw UsageError("--resume DIR continues the run in DIR with its own preset: drop --preset/--out");
  if ((a.has("new-head") || a.flag("freeze-backbone")) && !a.has("from") && !resume)
    throw UsageError("--new-head and --freeze-backbone need --from MODEL");

  train::Overrides overrides = overridesFrom(a);
  const nlohmann::json schema = train::TrainConfig{};
  std::map<std::string, std::string> sets;  // path -> the --set argument, for error messages
  for (const auto& arg : a.values("set")) {
    auto [path, value] = parseSet(arg, schema);
    overrides[path] = std::move(value);
    sets[path] = arg;
  }
  // The presets derive d_head = d_model / n_heads; a stored d_head must not pin it.
  const bool resized = a.has("d-model") || a.has("heads") || sets.count("model.d_model") || sets.count("model.n_heads");
  if (resized && !sets.count("model.d_head")) overrides["model.d_head"] = nullptr;

  train::TrainConfig config;
  train::TrainOptions options;
  try {
    if (resume) {
      options.run_dir = a.value("resume");
      options.resume = true;
      config = train::resumeConfig(options.run_dir, overrides);
    } else {
      config = train::loadPreset(a.value("preset"), overrides);
      options.run_dir = a.has("out") ? a.value("out") : train::defaultRunDir(config);
    }
  } catch (const Error& e) {
    // A value given with --set that the preset reader refuses is the caller's mistake.
    for (const auto& [path, arg] : sets)
      if (e.field() == path || e.field().rfind(path + ".", 0) == 0)
        throw UsageError("--set " + arg + ": " + e.what());
    throw;
  }
  if (a.flag("print-preset")) {
    out << nlohmann::json(config).dump(2) << "\n";
    return 0;
  }
  if (!resume) {  // the run folder must not be (or hold) what the run reads
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
