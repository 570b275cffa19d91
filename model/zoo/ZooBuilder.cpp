#include "model/zoo/ZooBuilder.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/core/Numbers.h"
#include "model/io/AtomicFile.h"
#include "model/io/SafeTensors.h"
#include "model/vit/StateDict.h"
#include "model/io/WeightStorage.h"
#include "model/train/Checkpoint.h"
#include "model/train/RunLog.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace prisma::zoo {

namespace {

constexpr const char* kPresetFile = "preset.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kConfigFile = "config.json";
constexpr const char* kCardFile = "README.md";
constexpr int kMetricsVersion = 1;

void say(const BuildOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

nlohmann::json readJson(const fs::path& p) {
  return readJsonFile(p.string());
}

int64_t hits(const train::EvalMetrics& m) { return std::llround(m.top1 * double(m.count)); }
int64_t top5Hits(const train::EvalMetrics& m) { return std::llround(m.top5 * double(m.count)); }

nlohmann::json metricsJson(const train::EvalMetrics& m) {
  return {{"accuracy", m.top1}, {"top5", m.top5}, {"loss", m.loss}, {"items", m.count}};
}

// The model in the project's format under `dir`, its weights stored as `storage`.
// Its provenance names the zoo entry, not the run folder, which is local to the machine that
// built it.
void shipModel(io::LoadedModel m, const std::string& name, const fs::path& dir, io::WeightStorage storage) {
  m.name = name;
  m.source = "prisma zoo build: " + name;
  m.notes.clear();
  io::saveModel(m, dir.string(), storage);
}

std::string modelCard(const ZooEntry& e, const train::TrainConfig& c, const MouseMetrics& r, int64_t stepsPerEpoch) {
  const ViTConfig& m = c.model;
  std::ostringstream o;
  o << "---\nlibrary_name: prisma-explorer\ntags:\n- vision-transformer\n- interpretability\n- vit-mice\n---\n\n";
  o << "# mouse:" << e.name << "\n\n";
  if (!e.note.empty()) o << e.note << "\n\n";
  o << "A ViT mouse of the Prisma Explorer zoo: " << m.n_layers << "-layer " << (m.attn_only ? "attention-only" : "attention + MLP")
    << " ViT trained from scratch on **" << e.dataset_label << "**"
    << (c.dataset.name.rfind("dsprites", 0) == 0 ? " (label: " + c.dataset.label_factor + ")" : std::string()) << ".\n\n";
  o << "| | |\n|---|---|\n";
  o << "| test accuracy | " << formatFixed(r.test.top1, 4) << " (" << hits(r.test) << " / " << r.test.count << ") |\n";
  o << "| test top-5 | " << formatFixed(r.test.top5, 4) << (m.n_classes <= 5 ? " (≤ 5 classes: always 1)" : "") << " |\n";
  o << "| test loss | " << formatFixed(r.test.loss, 4) << " |\n";
  if (e.reference_accuracy >= 0.0)
    o << "| ViT-Prisma's test accuracy for this configuration | " << formatFixed(e.reference_accuracy, 3) << " |\n";
  o << "| parameters | " << r.parameters << " |\n";
  o << "| architecture | image " << m.image_size << ", patch " << m.patch_size << ", d_model " << m.d_model << ", "
    << m.n_heads << " heads, " << (m.attn_only ? std::string("no MLP") : "d_mlp " + std::to_string(m.d_mlp)) << ", "
    << m.n_layers << " layers, " << m.n_classes << " classes, normalization " << toString(m.normalization) << " |\n";
  o << "| training | " << r.steps << " updates (" << formatFixed(double(r.steps) / double(std::max<int64_t>(1, stepsPerEpoch)), 2)
    << " epochs, batch " << c.optimization.batch_size << "), " << formatFixed(r.training_seconds, 0)
    << " s on one LibTorch thread of a shared 2-core machine |\n";
  o << "| optimiser | AdamW lr " << c.optimization.lr << ", weight decay " << c.optimization.weight_decay << ", "
    << train::toString(c.optimization.schedule.type) << " (warm-up " << c.optimization.schedule.warmup_steps << ")"
    << (c.optimization.max_grad_norm ? ", clip " + formatFixed(*c.optimization.max_grad_norm, 1) : std::string()) << " |\n";
  o << "| weights | " << io::toString(r.storage)
    << (r.storage == io::WeightStorage::Int8Blocks
            ? " (blocks of " + std::to_string(io::kInt8BlockSize) + " values with a float32 scale each, tensors under " +
                  std::to_string(io::kMinInt8Elements) + " values float16)"
            : std::string())
    << "; loading restores float32; the float32 weights' test accuracy is " << formatFixed(r.test_fp32.top1, 4) << " |\n\n";
  o << "## Differences from the original ViT-Prisma config\n\n";
  if (e.reductions.empty()) o << "None.\n";
  for (const auto& red : e.reductions) o << "- " << red << "\n";
  o << "\n## Use\n\n```sh\nprisma eval mouse:" << e.name << " --dataset " << c.dataset.name << " --split test\n"
    << "prisma run mouse:" << e.name << " IMAGE\n```\n\n";
  o << "## Reproduce\n\n```sh\nprisma zoo build --only " << e.name << "\n```\n\n"
    << "Preset `" << e.preset << "` with the overrides below and seed " << e.seed
    << " (`resources/zoo/zoo.json`); the resolved config is `preset.json`, the curve `metrics.csv`, all figures `"
    << kMetricsFile << "`.\n\n```json\n"
    << nlohmann::json(e.overrides).dump(2) << "\n```\n";
  return o.str();
}

void copyFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(from.string(), "", "cannot copy to " + to.string() + ": " + ec.message());
}

// At most kMaxSeriesCheckpoints, evenly over the log-spaced list, always with the last.
std::vector<train::CheckpointInfo> seriesOf(const std::vector<train::CheckpointInfo>& all) {
  if (all.size() <= size_t(kMaxSeriesCheckpoints)) return all;
  std::vector<train::CheckpointInfo> out;
  for (int i = 0; i < kMaxSeriesCheckpoints; ++i)
    out.push_back(all[size_t(std::llround(double(i) * double(all.size() - 1) / double(kMaxSeriesCheckpoints - 1)))]);
  return out;
}

}  // namespace

nlohmann::json readMouseMetrics(const std::string& mouseDir) {
  const fs::path p = fs::path(mouseDir) / kMetricsFile;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return nullptr;
  return readJson(p);
}

namespace {

// The fields that only say how long a run lasts. A run whose schedule does not depend on its
// length (step decay, constant) takes the same updates whatever they say, so a longer run of
// the same config continues a shorter one instead of starting over: the way a mouse that
// needs days of CPU is built a session at a time.
const char* const kRunLengthFields[] = {"epochs", "max_steps", "early_stopping"};

nlohmann::json withoutRunLength(nlohmann::json config) {
  for (const char* f : kRunLengthFields) config["optimization"].erase(f);
  return config;
}

// "stopped" (by hand) and "" (killed mid-run) are runs to resume.
bool runReachedItsEnd(const train::TrainingState& last) {
  return last.stop_reason == "max_steps" || last.stop_reason == "epochs" || last.stop_reason == "early_stopping";
}

}  // namespace

MouseMetrics buildMouse(const ZooEntry& entry, const BuildOptions& options) {
  const train::TrainConfig config = entryConfig(entry);
  const fs::path run = fs::path(options.runs_dir) / entry.name;
  const fs::path mouse = fs::path(options.mice_dir) / entry.name;
  std::error_code ec;

  // Up to date, resumable, or in the way.
  bool finished = false, resume = false, extend = false;
  if (fs::exists(run / kPresetFile, ec)) {
    const auto checkpoints = train::listCheckpoints(run.string());
    // The trainer records the dataset's class names in the model config; the rest must match.
    // Read and written again, so fields added since (at their defaults) compare equal.
    nlohmann::json stored = train::trainConfigFromJson(readJson(run / kPresetFile), (run / kPresetFile).string());
    nlohmann::json wanted = config;
    stored["model"].erase("class_names");
    wanted["model"].erase("class_names");
    if (stored != wanted) {
      const bool lengthOnly = withoutRunLength(stored) == withoutRunLength(wanted) &&
                              config.optimization.schedule.type != train::ScheduleType::WarmupCosine;
      if (!lengthOnly || checkpoints.empty())
        throw Error((run / kPresetFile).string(), "",
                    "holds a run of another config than the zoo entry '" + entry.name + "': remove it or build with --out");
      const train::TrainingState done = train::readTrainingState(checkpoints.back().path);
      if (done.stop_reason == "early_stopping")
        throw Error((run / kPresetFile).string(), "optimization",
                    "the run stopped early, so a longer one would stop there too: remove it to train the zoo entry '" +
                        entry.name + "' afresh");
      if (done.step > config.totalSteps(done.steps_per_epoch))
        throw Error((run / kPresetFile).string(), "optimization",
                    "the run is already longer than the zoo entry '" + entry.name + "' asks for: remove it or build with --out");
      extend = true;
    }
    // The weights file alone does not say the run is over: a run stopped by hand writes one,
    // and a continuation killed midway leaves the shorter run's one beside its newer
    // checkpoints. The last checkpoint says whether the run reached its end.
    finished = !extend && fs::is_regular_file(run / kWeightsFile, ec) && !checkpoints.empty() &&
               runReachedItsEnd(train::readTrainingState(checkpoints.back().path));
    resume = !finished && !checkpoints.empty();
    // Stopped before its first checkpoint: nothing to keep.
    if (!finished && !resume) fs::remove_all(run, ec);
  }
  if (finished) {
    say(options, entry.name + ": run in " + run.string() + " is up to date");
  } else {
    say(options, entry.name + (extend ? ": continuing to the longer run the manifest asks for " : resume ? ": resuming " : ": training ") +
                     "in " + run.string());
    train::TrainOptions t;
    t.run_dir = run.string();
    t.resume = resume;
    t.threads = options.threads;
    t.progress = options.progress;
    if (resume) {
      const nlohmann::json o = nlohmann::json(config)["optimization"];
      train::Overrides length;
      for (const char* f : kRunLengthFields) length[std::string("optimization.") + f] = o.at(f);
      train::train(train::resumeConfig(run.string(), length), t);
    } else {
      train::train(config, t);
    }
  }

  const auto checkpoints = train::listCheckpoints(run.string());
  if (checkpoints.empty()) throw Error(run.string(), train::kCheckpointsDir, "the run has no final checkpoint");
  const train::TrainingState state = train::readTrainingState(checkpoints.back().path);

  MouseMetrics r;
  r.name = entry.name;
  r.steps = state.step;
  r.samples = state.samples;
  r.training_seconds = state.elapsed_s;
  const EvalDataset data = evalDatasetOf(config.dataset);
  at::set_num_threads(options.threads);

  say(options, entry.name + ": evaluating the trained weights on the whole test part");
  const io::LoadedModel trained = io::loadModel(run.string());
  for (const auto& p : trained.model->parameters()) r.parameters += p.numel();
  r.test_fp32 = evaluateModel(trained, data, train::Part::Test);

  // The mouse is written into a hidden sibling and swapped in at the end, so an interrupted
  // build leaves the previously shipped mouse whole.
  const fs::path staging = fs::path(options.mice_dir) / ("." + entry.name + ".building");
  // The smallest storage that keeps the test accuracy and top-5 exactly, because a mouse is
  // studied as the model that was trained: one whose count of hits moves by even one test
  // item takes the next wider storage.
  const io::WeightStorage ladder[] = {io::WeightStorage::Int8Blocks, io::WeightStorage::Float16,
                                      io::WeightStorage::Float32};
  for (const io::WeightStorage storage : ladder) {
    fs::remove_all(staging, ec);
    shipModel(trained, entry.name, staging, storage);
    r.test = evaluateModel(io::loadModel(staging.string()), data, train::Part::Test);
    r.storage = storage;
    if (hits(r.test) == hits(r.test_fp32) && top5Hits(r.test) == top5Hits(r.test_fp32)) break;
    if (storage != io::WeightStorage::Float32)
      say(options, entry.name + ": " + io::toString(storage) + " changes the test figures (accuracy " + formatFixed(r.test.top1, 4) + " vs " +
                       formatFixed(r.test_fp32.top1, 4) + ", top-5 " + formatFixed(r.test.top5, 4) + " vs " + formatFixed(r.test_fp32.top5, 4) +
                       "); trying wider storage");
  }
  copyFile(run / kPresetFile, staging / kPresetFile);
  copyFile(run / train::RunLog::kCsvName, staging / train::RunLog::kCsvName);

  nlohmann::json series = nlohmann::json::array();
  if (entry.checkpoint_series) {
    for (const auto& ck : seriesOf(checkpoints)) {
      const fs::path dir = staging / train::kCheckpointsDir / ck.name;
      // The series shows training dynamics, not a benchmark figure: int8 blocks always.
      shipModel(io::loadModel(ck.path), entry.name + "/" + ck.name, dir, io::WeightStorage::Int8Blocks);
      fs::remove(dir / kCardFile, ec);  // one card per mouse is enough
      series.push_back(ck.step);
    }
  }

  const int64_t stepsPerEpoch = state.steps_per_epoch;
  r.json = {{"format", "prisma-mouse-metrics"},
            {"format_version", kMetricsVersion},
            {"name", entry.name},
            {"family", entry.family},
            {"dataset_label", entry.dataset_label},
            {"dataset", toJson(data)},
            {"layers", config.model.n_layers},
            {"attn_only", config.model.attn_only},
            {"parameters", r.parameters},
            {"test", metricsJson(r.test)},
            {"test_float32", metricsJson(r.test_fp32)},
            {"storage", io::toString(r.storage)},
            {"steps", r.steps},
            {"samples", r.samples},
            {"epochs", stepsPerEpoch > 0 ? double(r.steps) / double(stepsPerEpoch) : 0.0},
            {"training_seconds", r.training_seconds},
            {"threads", options.threads},
            {"stop_reason", state.stop_reason},
            {"preset", entry.preset},
            {"seed", entry.seed},
            {"overrides", entry.overrides},
            {"reductions", entry.reductions},
            {"checkpoint_series", series},
            {"config", readJson(run / kPresetFile)}};
  io::writeTextAtomically((staging / kMetricsFile).string(), r.json.dump(2) + "\n");
  io::writeTextAtomically((staging / kCardFile).string(), modelCard(entry, config, r, stepsPerEpoch));
  fs::remove_all(mouse, ec);
  fs::rename(staging, mouse, ec);
  if (ec) throw Error(staging.string(), "", "cannot move the built mouse to " + mouse.string() + ": " + ec.message());
  say(options, entry.name + ": test accuracy " + formatFixed(r.test.top1, 4) + ", top-5 " + formatFixed(r.test.top5, 4) + " (" + io::toString(r.storage) +
                   ") -> " + mouse.string());
  return r;
}

}  // namespace prisma::zoo
