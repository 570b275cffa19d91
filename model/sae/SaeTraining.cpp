// Training an SAE on the generic loop; see SaeTraining.h and SaeObjective.h.

#include "model/sae/SaeTraining.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/ModelLoader.h"
#include "model/runtime/Runtime.h"
#include "model/sae/SaeFiles.h"
#include "model/train/RunFolderWriter.h"
#include "model/train/TrainingData.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

namespace prisma::sae {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKind = "sae";
// ViT-Prisma's defaults (VisionModelSAERunnerConfig): lr 4e-4, 500 warm-up steps,
// clipping at 1.0, expansion 16 (ours: 8, for the mice), L1 8e-5.
constexpr double kDefaultLr = 4e-4;
constexpr int64_t kDefaultWarmup = 500;
constexpr double kDefaultClip = 1.0;
constexpr int kDefaultBatchImages = 32;
// Images whose rows prime the buffer and the b_dec initialisation before the first update.
constexpr int64_t kPrimeBatches = 4;

std::unique_ptr<datasets::Dataset> openDataset(const SaeTrainConfig& c) {
  datasets::DatasetOptions o;
  o.seed = c.dataset_seed;
  o.path = c.dataset_path;
  try {
    return datasets::makeDataset(c.dataset, o);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(c.dataset_path.empty() ? c.dataset : c.dataset_path, "dataset", e.what());
  }
}

}  // namespace

SaeTrainConfig SaeTrainConfig::defaults() {
  SaeTrainConfig c;
  c.optimization.lr = kDefaultLr;
  c.optimization.batch_size = kDefaultBatchImages;
  c.optimization.weight_decay = 0.0;
  c.optimization.max_grad_norm = kDefaultClip;
  c.optimization.schedule.type = train::ScheduleType::WarmupCosine;
  c.optimization.schedule.warmup_steps = kDefaultWarmup;
  c.optimization.early_stopping.metric = train::EarlyStopMetric::None;
  c.settings.sae.normalization = Normalization::LayerNorm;
  c.settings.sae.l1_coefficient = 8e-5;
  return c;
}

nlohmann::json SaeTrainConfig::toJson() const {
  const auto& o = optimization;
  return {{"kind", kKind},
          {"model", model},
          {"dataset", {{"name", dataset}, {"path", dataset_path}, {"seed", dataset_seed}}},
          {"sae", settings.toJson()},
          {"optimization",
           {{"lr", o.lr},
            {"batch_size", o.batch_size},
            {"epochs", o.epochs},
            {"max_steps", o.max_steps},
            {"warmup_steps", o.schedule.warmup_steps},
            {"min_lr", o.schedule.min_lr},
            {"max_grad_norm", o.max_grad_norm ? nlohmann::json(*o.max_grad_norm) : nlohmann::json()},
            {"beta1", o.beta1},
            {"beta2", o.beta2},
            {"seed", o.seed},
            {"data_seed", o.data_seed}}},
          {"logging",
           {{"log_every", logging.log_every},
            {"eval_batches", logging.eval_batches},
            {"checkpoint_every", logging.checkpoint_every}}}};
}

SaeTrainConfig SaeTrainConfig::fromJson(const nlohmann::json& j, const std::string& source) {
  if (jsonOptional<std::string>(j, "kind", "", source) != kKind) throw Error(source, "kind", "is not an SAE run");
  SaeTrainConfig c = defaults();
  c.model = jsonRequired<std::string>(j, "model", source);
  const nlohmann::json& d = j.at("dataset");
  c.dataset = jsonRequired<std::string>(d, "name", source);
  c.dataset_path = jsonOptional<std::string>(d, "path", "", source);
  c.dataset_seed = jsonOptional<uint64_t>(d, "seed", 0, source);
  const nlohmann::json& s = j.at("sae");
  c.settings.sae = saeConfigFromJson(s, source);
  c.settings.rows_per_step = jsonOptional<int64_t>(s, "rows_per_step", 0, source);
  c.settings.buffer_rows = jsonOptional<int64_t>(s, "buffer_rows", 0, source);
  c.settings.b_dec_init = jsonOptional<std::string>(s, "b_dec_init", "geometric_median", source);
  c.settings.dead_feature_window = jsonOptional<int64_t>(s, "dead_feature_window", 1000, source);
  c.settings.resample_every = jsonOptional<int64_t>(s, "resample_every", 0, source);
  c.settings.seed = jsonOptional<uint64_t>(s, "seed", 0, source);
  const nlohmann::json& o = j.at("optimization");
  auto& opt = c.optimization;
  opt.lr = jsonRequired<double>(o, "lr", source);
  opt.batch_size = jsonRequired<int>(o, "batch_size", source);
  opt.epochs = jsonOptional<int>(o, "epochs", 1, source);
  opt.max_steps = jsonOptional<int64_t>(o, "max_steps", 0, source);
  opt.schedule.warmup_steps = jsonOptional<int64_t>(o, "warmup_steps", kDefaultWarmup, source);
  opt.schedule.min_lr = jsonOptional<double>(o, "min_lr", 0.0, source);
  if (o.contains("max_grad_norm") && !o["max_grad_norm"].is_null())
    opt.max_grad_norm = jsonRequired<double>(o, "max_grad_norm", source);
  else opt.max_grad_norm.reset();
  opt.beta1 = jsonOptional<double>(o, "beta1", opt.beta1, source);
  opt.beta2 = jsonOptional<double>(o, "beta2", opt.beta2, source);
  opt.seed = jsonOptional<uint64_t>(o, "seed", 0, source);
  opt.data_seed = jsonOptional<uint64_t>(o, "data_seed", 0, source);
  const nlohmann::json& l = j.at("logging");
  c.logging.log_every = jsonOptional<int64_t>(l, "log_every", 100, source);
  c.logging.eval_batches = jsonOptional<int>(l, "eval_batches", 40, source);
  c.logging.checkpoint_every = jsonOptional<int64_t>(l, "checkpoint_every", 0, source);
  return c;
}

SaeTrainConfig readSaeRunConfig(const std::string& runDir) {
  const std::string path = (fs::path(runDir) / train::kPresetFile).string();
  try {
    return SaeTrainConfig::fromJson(readJsonFile(path), path);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "", std::string("not an SAE run's preset: ") + e.what());
  }
}

SaeTrainResult trainSae(const SaeTrainConfig& config, const train::TrainOptions& options) {
  const auto start = train::SessionClock::now();
  if (options.threads > 0) at::set_num_threads(options.threads);
  else runtime::configureThreads();
  const auto say = [&](const std::string& message) { train::reportPreparing(options, start, message); };
  const bool owner = !options.run_dir.empty() &&
                     (!options.collective || options.collective->worldSize() <= 1 || options.collective->rank() == 0);
  const std::unique_ptr<train::RunFolderLock> lock = owner ? train::lockRunFolder(options.run_dir, options.resume) : nullptr;
  const std::optional<train::CheckpointInfo> latest = train::openRunFolder(options.run_dir, options.resume, owner);

  say("loading model " + config.model);
  io::LoadedModel m = io::loadModel(config.model);
  SaeConfig sc = config.settings.sae;
  if (!m.model->has_hook(sc.hook_name)) throw Error(config.model, sc.hook_name, "the model has no such hook point");
  if (sc.model_name.empty()) sc.model_name = config.model;
  SaeTrainSettings settings = config.settings;
  settings.sae = sc;

  say("opening dataset " + config.dataset);
  std::shared_ptr<const datasets::Dataset> dataset = openDataset(config);
  train::TrainingDataOptions dopt;
  dopt.split_seed = config.dataset_seed;
  dopt.data_seed = config.optimization.data_seed;
  dopt.n_classes = std::max<int>(1, int(dataset->classNames().size()));
  dopt.cache_budget_bytes = options.cache_budget_bytes;
  train::TrainingData data(dataset, m.preprocess, dopt);

  SparseAutoencoder sae(sc);
  initializeSae(*sae, config.optimization.seed);
  if (latest) {
    say("resuming from " + latest->name);
    const LoadedSae saved = loadSae(latest->path);
    torch::NoGradGuard no_grad;
    for (const auto& p : saved.sae->named_parameters()) sae->named_parameters()[p.key()].copy_(p.value());
  }
  SaeObjective objective(m.model, sae, settings);
  if (latest) objective.restoreState(latest->path);
  if (options.collective && options.collective->worldSize() > 1) {
    // Every rank must take part in every update's collectives (the gathered rows), so no
    // batch may leave a rank without images: neither the full nor an epoch's last one.
    const int world = options.collective->worldSize();
    const int64_t batch = config.optimization.batch_size;
    const int64_t last = int64_t(data.size(train::Part::Train)) % batch;
    if (batch < world || (last > 0 && last < world))
      throw Error(options.run_dir, "batch_size",
                  "a batch of " + std::to_string(batch) + " images (an epoch's last: " + std::to_string(last ? last : batch) +
                      ") leaves some of the " + std::to_string(world) + " processes without images");
    objective.setCollective(options.collective);
  }

  say("filling the activation buffer");
  const int64_t prime_images =
      std::min<int64_t>(int64_t(data.size(train::Part::Train)), kPrimeBatches * config.optimization.batch_size);
  // A seeded permutation's first items: the same images on every resume.
  const auto subset = data.evalSubset(train::Part::Train, size_t(prime_images));
  objective.prime(data.fetch(train::Part::Train, subset).inputs, config.optimization.batch_size, latest.has_value());

  train::LoopSetup setup;
  setup.optimization = config.optimization;
  setup.logging = config.logging;
  train::TrainConfig counting;
  counting.optimization = config.optimization;
  setup.total_steps = counting.totalSteps(data.stepsPerEpoch(config.optimization.batch_size));
  setup.preset = config.toJson();
  setup.run_name = train::runName(options.run_dir, "sae");
  setup.resume_from = latest;
  setup.session_start = start;
  train::TrainingLoop loop(objective, data, std::move(setup), options);
  SaeTrainResult r;
  r.loop = loop.run();
  if (loop.writes()) {
    loop.report(train::TrainPhase::Preparing, "writing the SAE");
    objective.saveModel(options.run_dir, train::runName(options.run_dir, "sae"));
  }
  loop.finish(r.loop);
  r.sae = sae;
  // Updates per second times the rows each draws from the buffer.
  r.rows_per_s = r.loop.images_per_s / double(config.optimization.batch_size) * double(objective.rowsPerStep());
  return r;
}

}  // namespace prisma::sae
