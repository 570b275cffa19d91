// One training session (fresh, fine-tuning or resumed) as a small state machine: prepare
// model, data, optimizer and logs; run updates with evaluation and checkpoints on their
// schedules; finish with the final model, model card and curves.

#include "model/train/Trainer.h"

#include "datasets/DSpritesDataset.h"
#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/io/ModelLoader.h"
#include "model/io/SafeTensors.h"
#include "model/runtime/Runtime.h"
#include "model/train/EarlyStopping.h"
#include "model/train/Evaluation.h"
#include "model/train/LrSchedule.h"
#include "model/train/OptimizerState.h"
#include "model/train/TrainingCard.h"
#include "model/train/TrainingCurves.h"
#include "model/train/TrainingData.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <malloc.h>
#include <filesystem>
#include <thread>
#include <tuple>
#include <utility>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kPresetFile = "preset.json";
constexpr const char* kCardFile = "README.md";
constexpr const char* kCurvesFile = "curves.png";
constexpr const char* kHeadPrefix = "head.";
constexpr double kHeadInitStd = 0.02;  // HookedViT::init_weights' std, for a new head
constexpr auto kPausePoll = std::chrono::milliseconds(50);
// glibc serves blocks above its mmap threshold (128 KiB at start) with fresh mmap()s and
// returns them on free(): every activation and gradient of every update then costs page
// faults and zeroed pages. Measured on the induction preset: 324,000 minor faults and
// ~30 % of the run in the kernel, against 43,000 with the thresholds below — the values
// glibc's own dynamic threshold drifts to once a process has freed one large block.
constexpr int kMallocMmapThreshold = 32 << 20;
constexpr int kMallocTrimThreshold = 64 << 20;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string localTimeIso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Global L2 norm of the gradients, computed as clip_grad_norm_ does (so logged norms
// mean the same with and without clipping).
double gradNorm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return 0.0;
  return (norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2)).item<double>();
}

// Rank r's contiguous share [r·n/W, (r+1)·n/W) of n positions: sizes differ by at most one.
std::vector<int64_t> rankSlice(const std::vector<int64_t>& positions, int rank, int world) {
  const auto n = static_cast<int64_t>(positions.size());
  const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
  return {positions.begin() + begin, positions.begin() + end};
}

class Session {
public:
  Session(TrainConfig config, const TrainOptions& options)
      : cfg_(std::move(config)),
        opt_(options),
        coll_(options.collective && options.collective->worldSize() > 1 ? options.collective : nullptr),
        rank0_(!coll_ || coll_->rank() == 0),
        writes_(!options.run_dir.empty() && rank0_) {}

  TrainResult run() {
    start_ = Clock::now();
    if (opt_.threads > 0) at::set_num_threads(opt_.threads);
    else runtime::configureThreads();
    // Process-wide and idempotent; it only keeps freed memory in the heap for reuse.
    ::mallopt(M_MMAP_THRESHOLD, kMallocMmapThreshold);
    ::mallopt(M_TRIM_THRESHOLD, kMallocTrimThreshold);
    prepare();
    if (coll_) synchronizeStart();
    loop();
    return finish();
  }

private:
  // ---- preparation --------------------------------------------------------------------

  void report(TrainPhase phase, const std::string& message = {}) {
    if (!opt_.progress) return;
    TrainProgress p = progressBase();
    p.phase = phase;
    p.message = message;
    opt_.progress(p);
  }

  TrainProgress progressBase() const {
    TrainProgress p;
    p.step = state_.step;
    p.total_steps = total_;
    p.samples = state_.samples;
    p.epoch = data_ ? double(state_.samples) / double(data_->size(Part::Train)) : 0.0;
    p.lr = state_.step > 0 ? state_.lr : TrainProgress::kUnknown;
    p.batch_loss = lastLoss_;
    const double session = seconds(loopStart_, Clock::now());
    p.elapsed_s = seconds(start_, Clock::now());
    const int64_t done = state_.step - sessionFirstStep_;
    if (done > 0 && loopStarted_) p.eta_s = session / double(done) * double(total_ - state_.step);
    if (updateSeconds_ > 0) p.images_per_s = double(state_.samples - sessionFirstSamples_) / updateSeconds_;
    return p;
  }

  std::unique_ptr<datasets::Dataset> openDataset() {
    datasets::DatasetOptions o;
    o.seed = cfg_.dataset.seed;
    o.labelFactor = cfg_.dataset.label_factor;
    o.subsample = cfg_.dataset.subsample;
    o.path = cfg_.dataset.path;
    if (cfg_.dataset.name.rfind("dsprites", 0) == 0) {
      try {
        datasets::dspritesFactorFromString(o.labelFactor);
      } catch (const std::exception& e) {
        throw Error(cfg_.name, "dataset.label_factor", e.what());
      }
    }
    try {
      return datasets::makeDataset(cfg_.dataset.name, o);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(cfg_.dataset.path.empty() ? cfg_.dataset.name : cfg_.dataset.path, "dataset.name", e.what());
    }
  }

  void prepare() {
    const bool writes = writes_;
    if (opt_.resume && opt_.run_dir.empty()) throw Error("", "run_dir", "resuming needs the run folder");
    std::optional<CheckpointInfo> latest;
    if (opt_.resume) {
      if (rank0_) removePartialCheckpoints(opt_.run_dir);
      const auto cks = listCheckpoints(opt_.run_dir);
      if (cks.empty())
        throw Error(opt_.run_dir, kCheckpointsDir, "no complete checkpoint to resume from");
      latest = cks.back();
    } else if (writes) {
      std::error_code ec;
      if (fs::exists(fs::path(opt_.run_dir) / kPresetFile, ec))
        throw Error(opt_.run_dir, kPresetFile, "this folder already holds a run: resume it or choose another folder");
      fs::create_directories(opt_.run_dir, ec);
      if (ec) throw Error(opt_.run_dir, "", "cannot create the run folder: " + ec.message());
    }

    report(TrainPhase::Preparing, "opening dataset " + cfg_.dataset.name);
    std::shared_ptr<const datasets::Dataset> dataset = openDataset();
    const auto classNames = dataset->classNames();

    // The model: a checkpoint's, a loaded one to fine-tune, or a fresh one.
    if (latest) {
      report(TrainPhase::Preparing, "loading checkpoint " + latest->name);
      // A shipped mouse's checkpoint series keeps weights only; say what to do instead of
      // failing on the missing file after the data is prepared.
      if (!hasOptimizerState(latest->path))
        throw Error((fs::path(latest->path) / kOptimizerStateFile).string(), "",
                    "missing: this checkpoint keeps weights only (as a shipped mouse's series does), so the run "
                    "cannot resume; start a new run from it with --from " + latest->path);
      auto loaded = io::loadModel(latest->path);
      model_ = loaded.model;
      if (nlohmann::json(model_->cfg()) != nlohmann::json(cfg_.model))
        throw Error(latest->path, "config.json", "the checkpoint's model differs from the run's preset.json");
    } else if (!cfg_.finetune.from.empty()) {
      report(TrainPhase::Preparing, "loading " + cfg_.finetune.from);
      auto loaded = io::loadModel(cfg_.finetune.from);
      model_ = loaded.model;
      if (cfg_.finetune.new_head > 0) {
        const int n = cfg_.finetune.new_head;
        model_->replace_head(n, static_cast<int>(classNames.size()) == n ? classNames : std::vector<std::string>{});
        torch::NoGradGuard no_grad;
        auto gen = at::detail::createCPUGenerator(cfg_.optimization.seed);
        model_->head->W_H.normal_(0.0, kHeadInitStd, gen);
        model_->head->b_H.zero_();
      }
      // The run is now this model with its own preprocessing; preset.json records both.
      cfg_.model = model_->cfg();
      cfg_.dataset.mean = loaded.preprocess.mean;
      cfg_.dataset.std = loaded.preprocess.std;
      cfg_.dataset.interpolation = loaded.preprocess.interpolation;
      cfg_.validate(cfg_.finetune.from);
    } else {
      if (static_cast<int>(classNames.size()) == cfg_.model.n_classes) cfg_.model.class_names = classNames;
      model_ = HookedViT(cfg_.model);
      model_->init_weights(cfg_.optimization.seed);
    }
    if (static_cast<int>(classNames.size()) != model_->cfg().n_classes)
      throw Error(cfg_.dataset.name, "model.n_classes",
                  "the dataset has " + std::to_string(classNames.size()) + " classes but the model " +
                      std::to_string(model_->cfg().n_classes) +
                      (cfg_.finetune.from.empty() ? " (set model.n_classes)" : " (fine-tune with a new head)"));
    model_->train();

    report(TrainPhase::Preparing, "preparing data");
    TrainingDataOptions dopt;
    dopt.split_seed = cfg_.dataset.seed;
    dopt.test_fraction = cfg_.dataset.test_fraction;
    dopt.data_seed = cfg_.optimization.data_seed;
    dopt.n_classes = model_->cfg().n_classes;
    dopt.cache_budget_bytes = opt_.cache_budget_bytes;
    data_ = std::make_unique<TrainingData>(dataset, cfg_.preprocess(), dopt);
    const int batch = cfg_.optimization.batch_size;
    stepsPerEpoch_ = data_->stepsPerEpoch(batch);
    total_ = cfg_.totalSteps(stepsPerEpoch_);
    const size_t evalItems = size_t(cfg_.logging.eval_batches) * size_t(batch);
    evalTrain_ = data_->evalSubset(Part::Train, evalItems);
    evalTest_ = data_->evalSubset(Part::Test, evalItems);

    // Trained parameters, in the model's order (the optimizer-state file is by name).
    for (auto& item : model_->named_parameters()) {
      const bool train = !cfg_.finetune.freeze_backbone || startsWith(item.key(), kHeadPrefix);
      item.value().set_requires_grad(train);
      if (train) {
        params_.emplace_back(item.key(), item.value());
        tensors_.push_back(item.value());
      }
    }
    if (params_.empty()) throw Error(cfg_.name, "finetune.freeze_backbone", "no parameter is left to train");
    const auto& o = cfg_.optimization;
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        tensors_, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
    schedule_ = std::make_unique<LrSchedule>(o.schedule, o.lr, total_);
    early_ = std::make_unique<EarlyStopping>(o.early_stopping);

    state_.steps_per_epoch = stepsPerEpoch_;
    state_.data_seed = o.data_seed;
    if (latest) {
      state_ = readTrainingState(latest->path);
      if (state_.steps_per_epoch != stepsPerEpoch_ || state_.data_seed != o.data_seed)
        throw Error(latest->path, "data_order", "the data order differs from the run's preset and dataset");
      loadAdamWState(*optimizer_, params_, io::SafeTensorsFile((fs::path(latest->path) / kOptimizerStateFile).string()));
      early_->restore(state_.early_stopping, latest->path);
      state_.sessions += 1;
      state_.stop_reason.clear();
    }
    elapsedBefore_ = state_.elapsed_s;
    sessionFirstStep_ = state_.step;
    sessionFirstSamples_ = state_.samples;

    if (writes) {
      io::writeTextAtomically((fs::path(opt_.run_dir) / kPresetFile).string(), nlohmann::json(cfg_).dump(2) + "\n");
      log_ = latest ? RunLog::resume(opt_.run_dir, state_.step) : RunLog::create(opt_.run_dir);
    }
  }

  // ---- data parallelism -----------------------------------------------------------------

  // Every rank starts from rank 0's weights, and from the same point of the run: ranks
  // that resumed from different checkpoints (a run folder not shared between machines)
  // are refused rather than silently averaged.
  void synchronizeStart() {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> where{torch::tensor({state_.step, state_.samples}, torch::kInt64)};
    coll_->broadcast(where, 0);
    const int64_t step0 = where[0][0].item<int64_t>(), samples0 = where[0][1].item<int64_t>();
    if (step0 != state_.step || samples0 != state_.samples)
      throw Error(opt_.run_dir, kCheckpointsDir,
                  "rank " + std::to_string(coll_->rank()) + " starts at step " + std::to_string(state_.step) +
                      " but rank 0 at step " + std::to_string(step0) +
                      ": every rank must see the same run folder (a shared filesystem)");
    std::vector<torch::Tensor> weights;
    for (const auto& p : model_->parameters()) weights.push_back(p);
    for (const auto& b : model_->buffers())
      if (b.is_floating_point()) weights.push_back(b);
    coll_->broadcast(weights, 0);
  }

  // Loss, top-1 and top-5 over `positions`: each rank evaluates its slice and the sums
  // are reduced, so every rank holds the same numbers.
  EvalMetrics evaluatePart(Part part, const std::vector<int64_t>& positions) {
    const int batch = cfg_.optimization.batch_size;
    if (!coll_) return evaluate(*model_, *data_, part, positions, batch);
    const auto mine = rankSlice(positions, coll_->rank(), coll_->worldSize());
    const EvalMetrics local = evaluate(*model_, *data_, part, mine, batch);
    const double n = double(local.count);
    std::vector<torch::Tensor> sums{torch::tensor(
        {local.count > 0 ? local.loss * n : 0.0, local.count > 0 ? local.top1 * n : 0.0,
         local.count > 0 ? local.top5 * n : 0.0, n},
        torch::kFloat64)};
    coll_->allReduceSum(sums);
    EvalMetrics m;
    m.count = static_cast<int64_t>(std::llround(sums[0][3].item<double>()));
    if (m.count > 0) {
      m.loss = sums[0][0].item<double>() / double(m.count);
      m.top1 = sums[0][1].item<double>() / double(m.count);
      m.top5 = sums[0][2].item<double>() / double(m.count);
    }
    return m;
  }

  // One data-parallel update's forward and backward on this rank's slice of the global
  // batch; leaves the batch-mean gradient in every rank's parameters. Returns the batch's
  // mean loss and whether any rank asked to stop.
  std::pair<double, bool> dataParallelBackward(const std::vector<int64_t>& positions) {
    const auto mine = rankSlice(positions, coll_->rank(), coll_->worldSize());
    const double share = double(mine.size()) / double(positions.size());
    double localLoss = 0.0;
    if (!mine.empty()) {
      const BatchTensors batch = data_->fetch(Part::Train, mine);
      const torch::Tensor logits = model_->forward(batch.inputs);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, batch.labels);
      (loss * share).backward();
      localLoss = loss.item<double>() * share;
    }
    const bool stopHere = opt_.control && opt_.control->stopRequested();
    std::vector<torch::Tensor> reduced;
    reduced.reserve(tensors_.size() + 1);
    for (auto& p : tensors_) {
      // A rank with an empty slice (or a parameter unused by the loss) still contributes
      // its zeros, so every rank sends the same buckets.
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      reduced.push_back(p.grad());
    }
    // The loss and the stop flag ride in the last bucket instead of a call of their own.
    reduced.push_back(torch::tensor({localLoss, stopHere ? 1.0 : 0.0}, torch::dtype(tensors_.front().scalar_type())));
    coll_->allReduceSum(reduced);
    const torch::Tensor extra = reduced.back();
    return {extra[0].item<double>(), extra[1].item<double>() > 0.0};
  }

  // ---- the loop -----------------------------------------------------------------------

  // Evaluates and logs one row; returns it.
  LogRow evaluateAndLog() {
    report(TrainPhase::Preparing, "evaluating");
    LogRow row;
    row.step = state_.step;
    row.samples = state_.samples;
    row.epoch = double(state_.samples) / double(data_->size(Part::Train));
    row.wall_time = wallTimeNow();
    row.elapsed_s = elapsedBefore_ + (loopStarted_ ? seconds(loopStart_, Clock::now()) : 0.0);
    if (state_.step > 0) row.lr = state_.lr;
    if (intervalCount_ > 0) {
      row.grad_norm = intervalNorm_ / double(intervalCount_);
      row.batch_loss = intervalLoss_ / double(intervalCount_);
    }
    intervalCount_ = 0;
    intervalNorm_ = intervalLoss_ = 0.0;
    row.train = evaluatePart(Part::Train, evalTrain_);
    row.test = evaluatePart(Part::Test, evalTest_);
    if (log_) log_->append(row);
    rows_.push_back(row);
    if (opt_.progress) {
      TrainProgress p = progressBase();
      p.phase = TrainPhase::Evaluated;
      p.row = row;
      opt_.progress(p);
    }
    return row;
  }

  io::LoadedModel asLoadedModel(const std::string& name) const {
    io::LoadedModel m;
    m.model = model_;
    m.format = "prisma";
    m.source = opt_.run_dir;
    m.name = name;
    m.preprocess = cfg_.preprocess();
    return m;
  }

  std::string runName() const {
    if (opt_.run_dir.empty()) return cfg_.name;
    const fs::path p = fs::path(opt_.run_dir).lexically_normal();
    const std::string leaf = p.filename().string();
    return leaf.empty() ? p.parent_path().filename().string() : leaf;
  }

  void checkpoint() {
    const std::string name = checkpointName(state_.step, state_.samples);
    const std::string dir = (fs::path(opt_.run_dir) / kCheckpointsDir / name).string();
    state_.elapsed_s = elapsedBefore_ + seconds(loopStart_, Clock::now());
    state_.early_stopping = early_->state();
    state_.preset = nlohmann::json(cfg_);
    writeCheckpoint(dir, asLoadedModel(runName() + "/" + name), adamwStateTensors(*optimizer_, params_), state_,
                    opt_.checkpoint_hooks);
    if (opt_.progress) {
      TrainProgress p = progressBase();
      p.phase = TrainPhase::Checkpointed;
      p.checkpoint = dir;
      opt_.progress(p);
    }
  }

  void loop() {
    const auto& o = cfg_.optimization;
    const auto& l = cfg_.logging;
    loopStart_ = Clock::now();
    loopStarted_ = true;
    if (state_.step == 0 && l.log_every > 0) evaluateAndLog();  // the untrained model, as the original did

    const bool writes = writes_;
    while (state_.step < total_) {
      if (opt_.control && !coll_) {
        while (opt_.control->paused() && !opt_.control->stopRequested()) {
          report(TrainPhase::Paused);
          std::this_thread::sleep_for(kPausePoll);
        }
        if (opt_.control->stopRequested()) {
          stopReason_ = "stopped";
          break;
        }
      }
      const auto t0 = Clock::now();
      const auto positions = data_->trainBatch(state_.step / stepsPerEpoch_, state_.step % stepsPerEpoch_, o.batch_size);
      const double lr = schedule_->lr(state_.step);
      for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      // Undefined instead of zeroed: backward then writes gradients instead of adding.
      for (auto& p : tensors_) p.mutable_grad() = torch::Tensor();
      bool stopAll = false;
      if (coll_) {
        std::tie(lastLoss_, stopAll) = dataParallelBackward(positions);
      } else {
        const BatchTensors batch = data_->fetch(Part::Train, positions);
        const torch::Tensor logits = model_->forward(batch.inputs);
        const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, batch.labels);
        loss.backward();
        lastLoss_ = loss.item<double>();
      }
      const double norm = o.max_grad_norm ? torch::nn::utils::clip_grad_norm_(tensors_, *o.max_grad_norm)
                                          : gradNorm(tensors_);
      optimizer_->step();
      updateSeconds_ += seconds(t0, Clock::now());

      state_.step += 1;
      state_.samples += static_cast<int64_t>(positions.size());
      state_.lr = lr;
      state_.epoch = state_.step / stepsPerEpoch_;
      state_.batch_in_epoch = state_.step % stepsPerEpoch_;
      intervalLoss_ += lastLoss_;
      intervalNorm_ += norm;
      intervalCount_ += 1;
      if (stopAll) stopReason_ = "stopped";

      if (opt_.progress) {
        TrainProgress p = progressBase();
        p.phase = TrainPhase::Training;
        opt_.progress(p);
      }
      const bool logStep = l.log_every > 0 && state_.step % l.log_every == 0;
      if (logStep || state_.step == total_) {
        const LogRow row = evaluateAndLog();
        // Only regular log steps tick the patience, so an extra evaluation at the end of
        // a shorter session does not change when a resumed run stops.
        if (logStep) {
          const double watched = o.early_stopping.metric == EarlyStopMetric::TrainAcc ? row.train.top1 : row.test.top1;
          if (early_->update(watched)) stopReason_ = "early_stopping";
        }
      }
      if (writes && ((l.checkpoint_every > 0 && state_.step % l.checkpoint_every == 0) ||
                     (l.log_spaced_checkpoints && isLogSpacedStep(state_.step))))
        checkpoint();
      if (!stopReason_.empty()) break;
    }
    if (stopReason_.empty())
      stopReason_ = (o.max_steps > 0 && total_ == o.max_steps) ? "max_steps" : "epochs";
  }

  // ---- the end ------------------------------------------------------------------------

  TrainResult finish() {
    bool evaluateLast = false;
    if (rows_.empty() || rows_.back().step != state_.step) {
      // A resumed run that had already reached its end has its last row in the log.
      const bool logged = log_ && !log_->rows().empty() && log_->rows().back().step == state_.step;
      if (logged) rows_.push_back(log_->rows().back());
      else evaluateLast = true;
    }
    if (coll_) {  // only rank 0 holds the log: its decision is everyone's (evaluation is collective)
      std::vector<torch::Tensor> flag{torch::tensor({evaluateLast ? 1.0 : 0.0}, torch::kFloat64)};
      coll_->broadcast(flag, 0);
      evaluateLast = flag[0].item<double>() > 0.0;
    }
    if (evaluateLast) evaluateAndLog();
    state_.stop_reason = stopReason_;
    TrainResult r;
    if (writes_) {
      checkpoint();  // the final state, with its stop reason: resumable, e.g. with more steps
      report(TrainPhase::Preparing, "writing the model and its card");
      const std::string name = runName();
      io::saveModel(asLoadedModel(name), opt_.run_dir);
      const auto& all = log_->rows();
      writeTrainingCurves((fs::path(opt_.run_dir) / kCurvesFile).string(), all,
                          name + " - " + cfg_.dataset.name + " - step " + std::to_string(state_.step));
      TrainingCardInfo card;
      card.config = cfg_;
      card.run_name = name;
      card.parameters = model_->parameter_count();
      for (const auto& t : tensors_) card.trainable_parameters += t.numel();
      for (const auto& info : datasets::builtinDatasets())
        if (info.name == cfg_.dataset.name) card.dataset_description = info.description;
      card.train_size = data_->size(Part::Train);
      card.test_size = data_->size(Part::Test);
      card.test_held_out = data_->testHeldOutOfTrain();
      card.class_names = data_->dataset().classNames();
      card.steps = state_.step;
      card.samples = state_.samples;
      card.steps_per_epoch = stepsPerEpoch_;
      card.planned_steps = total_;
      card.stop_reason = stopReason_;
      card.elapsed_s = state_.elapsed_s;
      card.sessions = state_.sessions;
      card.finished_at = localTimeIso();
      card.final = all.empty() ? LogRow{} : all.back();
      card.checkpoints = listCheckpoints(opt_.run_dir);
      card.curves_file = kCurvesFile;
      card.hardware = currentHardware();
      card.world_size = coll_ ? coll_->worldSize() : 1;
      // After saveModel, which writes a generic card of its own under the same name.
      io::writeTextAtomically((fs::path(opt_.run_dir) / kCardFile).string(), trainingCard(card));
      r.checkpoints = card.checkpoints;
      r.rows = all;
    } else {
      r.rows = rows_;
    }
    r.run_dir = opt_.run_dir;
    r.stop_reason = stopReason_;
    r.steps = state_.step;
    r.samples = state_.samples;
    r.elapsed_s = elapsedBefore_ + seconds(loopStart_, Clock::now());
    r.session_s = seconds(start_, Clock::now());
    r.update_s = updateSeconds_;
    r.images_per_s = updateSeconds_ > 0 ? double(state_.samples - sessionFirstSamples_) / updateSeconds_ : 0.0;
    r.final = r.rows.empty() ? LogRow{} : r.rows.back();
    r.model = model_;
    r.config = cfg_;
    if (opt_.progress) {
      TrainProgress p = progressBase();
      p.phase = TrainPhase::Finished;
      p.stop_reason = stopReason_;
      p.row = r.final;
      opt_.progress(p);
    }
    return r;
  }

  TrainConfig cfg_;
  const TrainOptions& opt_;
  Collective* coll_;    // set when data-parallel over more than one rank
  const bool rank0_;    // this process logs and writes
  const bool writes_;   // rank 0 with a run folder
  HookedViT model_{nullptr};
  std::unique_ptr<TrainingData> data_;
  NamedParameters params_;
  std::vector<torch::Tensor> tensors_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<EarlyStopping> early_;
  std::unique_ptr<RunLog> log_;
  std::vector<LogRow> rows_;
  std::vector<int64_t> evalTrain_, evalTest_;
  TrainingState state_;
  int64_t stepsPerEpoch_ = 1;
  int64_t total_ = 0;
  int64_t sessionFirstStep_ = 0;
  int64_t sessionFirstSamples_ = 0;
  double elapsedBefore_ = 0.0;
  double updateSeconds_ = 0.0;
  double lastLoss_ = TrainProgress::kUnknown;
  double intervalLoss_ = 0.0, intervalNorm_ = 0.0;
  int64_t intervalCount_ = 0;
  std::string stopReason_;
  Clock::time_point start_, loopStart_;
  bool loopStarted_ = false;
};

}  // namespace

TrainResult train(TrainConfig config, const TrainOptions& options) {
  config.validate(config.name.empty() ? "config" : config.name);
  Session session(std::move(config), options);
  return session.run();
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
