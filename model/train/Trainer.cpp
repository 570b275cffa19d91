// The classifier trainer assembled from its parts: run folder, dataset, model set-up, the
// generic loop with a ClassifierObjective, and the run folder's summary.

#include "model/train/Trainer.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/runtime/Runtime.h"
#include "model/train/ModelSetup.h"
#include "model/train/RunFolderWriter.h"
#include "model/train/TrainingData.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <memory>
#include <utility>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<datasets::Dataset> openDataset(const TrainConfig& config) {
  datasets::DatasetOptions o;
  o.seed = config.dataset.seed;
  o.labelFactor = config.dataset.label_factor;
  o.subsample = config.dataset.subsample;
  o.path = config.dataset.path;
  try {
    datasets::checkLabelFactor(config.dataset.name, o);
  } catch (const std::exception& e) {
    throw Error(config.name, "dataset.label_factor", e.what());
  }
  try {
    return datasets::makeDataset(config.dataset.name, o);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(config.dataset.path.empty() ? config.dataset.name : config.dataset.path, "dataset.name", e.what());
  }
}

std::string datasetDescription(const std::string& name) {
  std::string description;
  for (const auto& info : datasets::builtinDatasets())
    if (info.name == name) description = info.description;
  return description;
}

}  // namespace

TrainResult train(TrainConfig config, const TrainOptions& options) {
  config.validate(config.name.empty() ? "config" : config.name);
  const auto start = SessionClock::now();
  if (options.threads > 0) at::set_num_threads(options.threads);
  else runtime::configureThreads();
  const Collective* coll = options.collective && options.collective->worldSize() > 1 ? options.collective : nullptr;
  const bool owner = !options.run_dir.empty() && (!coll || coll->rank() == 0);
  const auto say = [&](const std::string& message) { reportPreparing(options, start, message); };

  // Held until train() returns: a second trainer on this folder fails here, before it
  // touches anything.
  const std::unique_ptr<RunFolderLock> lock = owner ? lockRunFolder(options.run_dir, options.resume) : nullptr;
  const std::optional<CheckpointInfo> latest = openRunFolder(options.run_dir, options.resume, owner);
  if (options.resume && !latest) say("no checkpoint yet: the run starts over from step 0");
  say("opening dataset " + config.dataset.name);
  std::shared_ptr<const datasets::Dataset> dataset = openDataset(config);
  HookedViT model = setUpModel(config, dataset->classNames(), latest, say);

  say("preparing data");
  TrainingDataOptions dopt;
  dopt.split_seed = config.dataset.seed;
  dopt.test_fraction = config.dataset.test_fraction;
  dopt.data_seed = config.optimization.data_seed;
  dopt.n_classes = model->cfg().n_classes;
  dopt.cache_budget_bytes = options.cache_budget_bytes;
  TrainingData data(dataset, config.preprocess(), dopt);

  io::LoadedModel savedAs;
  savedAs.model = model;
  savedAs.format = "prisma";
  savedAs.source = options.run_dir;
  savedAs.preprocess = config.preprocess();
  ClassifierObjective objective(savedAs, trainedParameters(*model, config));

  LoopSetup setup;
  setup.optimization = config.optimization;
  setup.logging = config.logging;
  setup.total_steps = config.totalSteps(data.stepsPerEpoch(config.optimization.batch_size));
  setup.preset = nlohmann::json(config);
  setup.run_name = runName(options.run_dir, config.name);
  const Part watched =
      config.optimization.early_stopping.metric == EarlyStopMetric::TrainAcc ? Part::Train : Part::Test;
  setup.early_stop_column = evaluationColumn(watched, ClassifierObjective::kAccuracy).column;
  setup.resume_from = latest;
  setup.session_start = start;
  TrainingLoop loop(objective, data, std::move(setup), options);
  LoopResult done = loop.run();

  TrainResult r;
  if (loop.writes()) {
    loop.report(TrainPhase::Preparing, "writing the model and its card");
    TrainingCardInfo card;
    card.config = config;
    card.run_name = runName(options.run_dir, config.name);
    card.parameters = model->parameter_count();
    for (const auto& [name, t] : objective.trainedParameters()) card.trainable_parameters += t.numel();
    card.dataset_description = datasetDescription(config.dataset.name);
    card.train_size = data.size(Part::Train);
    card.test_size = data.size(Part::Test);
    card.test_held_out = data.testHeldOutOfTrain();
    card.class_names = data.dataset().classNames();
    card.steps = done.state.step;
    card.samples = done.state.samples;
    card.steps_per_epoch = done.steps_per_epoch;
    card.planned_steps = done.total_steps;
    card.stop_reason = done.stop_reason;
    card.elapsed_s = done.state.elapsed_s;
    card.sessions = done.state.sessions;
    card.world_size = done.world_size;
    r.checkpoints = writeClassifierRunSummary(options.run_dir, objective, std::move(card), done.rows);
  }
  loop.finish(done);
  r.run_dir = options.run_dir;
  r.stop_reason = done.stop_reason;
  r.steps = done.state.step;
  r.samples = done.state.samples;
  r.skipped_steps = done.state.skipped_steps;
  r.elapsed_s = done.elapsed_s;
  r.session_s = done.session_s;
  r.update_s = done.update_s;
  r.images_per_s = done.images_per_s;
  r.final = done.final;
  r.rows = std::move(done.rows);
  r.model = model;
  r.config = config;
  return r;
}

TrainConfig resumeConfig(const std::string& runDir, const Overrides& overrides) {
  const std::string path = (fs::path(runDir) / kPresetFile).string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(runDir, kPresetFile, "not a run folder (no preset.json)");
  nlohmann::json doc = loadPresetJson(path);
  const nlohmann::json before = doc;
  applyOverrides(doc, overrides, path);
  for (const char* pointer : {"/model", "/dataset", "/finetune", "/optimization/batch_size", "/optimization/seed",
                              "/optimization/data_seed"}) {
    const nlohmann::json::json_pointer ptr(pointer);
    const nlohmann::json a = before.contains(ptr) ? before.at(ptr) : nlohmann::json();
    const nlohmann::json b = doc.contains(ptr) ? doc.at(ptr) : nlohmann::json();
    if (a != b) {
      std::string field = std::string(pointer).substr(1);
      std::replace(field.begin(), field.end(), '/', '.');
      throw Error(path, field, "cannot change when resuming: the continued run would be a different one");
    }
  }
  return trainConfigFromJson(doc, path);
}

std::string defaultRunDir(const TrainConfig& config, const std::string& parent) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return (fs::path(parent) / ((config.name.empty() ? std::string("run") : config.name) + "-" + stamp)).string();
}

}  // namespace prisma::train
