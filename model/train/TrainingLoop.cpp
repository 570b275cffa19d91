// The loop as a small state machine: restore or start the optimizer and logs; run updates
// with evaluation and checkpoints on their schedules; end with a final evaluation and
// checkpoint. Everything model-specific is the Objective's.

#include "model/train/TrainingLoop.h"

#include "model/Error.h"
#include "model/io/NonFinite.h"
#include "model/io/SafeTensors.h"
#include "model/train/DataParallel.h"
#include "model/train/EarlyStopping.h"
#include "model/train/LrSchedule.h"
#include "model/train/OptimizerState.h"
#include "model/train/RunFolderWriter.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

constexpr auto kPausePoll = std::chrono::milliseconds(50);

double seconds(SessionClock::time_point a, SessionClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Global L2 norm of the gradients, computed as clip_grad_norm_ does (so logged norms
// mean the same with and without clipping).
double gradNorm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  if (norms.empty()) return 0.0;
  return (norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2)).item<double>();
}

Collective* parallel(const TrainOptions& options) {
  return options.collective && options.collective->worldSize() > 1 ? options.collective : nullptr;
}

}  // namespace

void reportPreparing(const TrainOptions& options, SessionClock::time_point sessionStart, const std::string& message) {
  if (!options.progress) return;
  TrainProgress p;
  p.phase = TrainPhase::Preparing;
  p.message = message;
  p.elapsed_s = seconds(sessionStart, SessionClock::now());
  options.progress(p);
}

TrainingLoop::TrainingLoop(Objective& objective, TrainingData& data, LoopSetup setup, const TrainOptions& options)
    : objective_(objective),
      data_(data),
      setup_(std::move(setup)),
      opt_(options),
      coll_(parallel(options)),
      writes_(!options.run_dir.empty() && (!coll_ || coll_->rank() == 0)),
      columns_(objectiveColumns(objective)) {
  const auto& o = setup_.optimization;
  const int batch = o.batch_size;
  stepsPerEpoch_ = data_.stepsPerEpoch(batch);
  const size_t evalItems = size_t(setup_.logging.eval_batches) * size_t(batch);
  evalTrain_ = data_.evalSubset(Part::Train, evalItems);
  evalTest_ = data_.evalSubset(Part::Test, evalItems);
  intervalScalars_.assign(objective_.stepScalarNames().size(), 0.0);

  const NamedParameters& params = objective_.trainedParameters();
  for (const auto& [name, tensor] : params) tensors_.push_back(tensor);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      tensors_, torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(o.weight_decay));
  schedule_ = std::make_unique<LrSchedule>(o.schedule, o.lr, setup_.total_steps);
  early_ = std::make_unique<EarlyStopping>(o.early_stopping);

  state_.steps_per_epoch = stepsPerEpoch_;
  state_.data_seed = o.data_seed;
  if (const auto& latest = setup_.resume_from) {
    state_ = readTrainingState(latest->path);
    if (state_.steps_per_epoch != stepsPerEpoch_ || state_.data_seed != o.data_seed)
      throw Error(latest->path, "data_order", "the data order differs from the run's preset and dataset");
    loadAdamWState(*optimizer_, params, io::SafeTensorsFile((fs::path(latest->path) / kOptimizerStateFile).string()));
    early_->restore(state_.early_stopping, latest->path);
    state_.sessions += 1;
    state_.stop_reason.clear();
    // The open logging interval goes on where it was (an older checkpoint has none).
    const LogWindow& w = state_.log_window;
    if (w.count > 0 && w.scalar_sums.size() == intervalScalars_.size()) {
      intervalLoss_ = w.loss_sum;
      intervalNorm_ = w.grad_norm_sum;
      intervalScalars_ = w.scalar_sums;
      intervalCount_ = w.count;
    }
  }
  elapsedBefore_ = state_.elapsed_s;
  sessionFirstStep_ = state_.step;
  sessionFirstSamples_ = state_.samples;

  if (writes_) {
    writePresetFile(opt_.run_dir, setup_.preset);
    log_ = setup_.resume_from ? RunLog::resume(opt_.run_dir, state_.step, columns_)
                              : RunLog::create(opt_.run_dir, columns_);
  }
}

TrainingLoop::~TrainingLoop() = default;

void TrainingLoop::report(TrainPhase phase, const std::string& message) {
  if (!opt_.progress) return;
  TrainProgress p = progressBase();
  p.phase = phase;
  p.message = message;
  opt_.progress(p);
}

TrainProgress TrainingLoop::progressBase() const {
  TrainProgress p;
  p.step = state_.step;
  p.total_steps = setup_.total_steps;
  p.samples = state_.samples;
  p.epoch = double(state_.samples) / double(data_.size(Part::Train));
  p.lr = state_.step > 0 ? state_.lr : TrainProgress::kUnknown;
  p.batch_loss = lastLoss_;
  const auto now = SessionClock::now();
  p.elapsed_s = seconds(setup_.session_start, now);
  const int64_t done = state_.step - sessionFirstStep_;
  if (done > 0 && loopStarted_)
    p.eta_s = seconds(loopStart_, now) / double(done) * double(setup_.total_steps - state_.step);
  if (updateSeconds_ > 0) p.images_per_s = double(state_.samples - sessionFirstSamples_) / updateSeconds_;
  return p;
}

// The objective's evaluation scalars over `positions` of one part: sums over batches and,
// when data-parallel, over ranks (each evaluates its slice), so every rank holds the same
// numbers.
std::vector<double> TrainingLoop::evaluatePart(Part part, const std::vector<int64_t>& positions) {
  const int batch = setup_.optimization.batch_size;
  const auto mine = coll_ ? rankSlice(positions, coll_->rank(), coll_->worldSize()) : positions;
  std::vector<double> sums(objective_.evaluationSumCount(), 0.0);
  {
    torch::NoGradGuard no_grad;
    objective_.setEvaluating(true);
    const auto n = static_cast<int64_t>(mine.size());
    for (int64_t begin = 0; begin < n; begin += batch) {
      const int64_t end = std::min(n, begin + batch);
      const std::vector<int64_t> chunk(mine.begin() + begin, mine.begin() + end);
      const std::vector<double> s = objective_.evaluationSums(data_.fetch(part, chunk));
      for (size_t i = 0; i < sums.size() && i < s.size(); ++i) sums[i] += s[i];
    }
    objective_.setEvaluating(false);
  }
  int64_t items = static_cast<int64_t>(mine.size());
  if (coll_) {
    sums.push_back(double(items));
    allReduceSums(*coll_, sums);
    items = static_cast<int64_t>(std::llround(sums.back()));
    sums.pop_back();
  }
  return objective_.evaluationScalars(sums, items);
}

LogRow TrainingLoop::evaluateAndLog(bool closesWindow) {
  report(TrainPhase::Preparing, "evaluating");
  LogRow row;
  row.step = state_.step;
  row.samples = state_.samples;
  row.epoch = double(state_.samples) / double(data_.size(Part::Train));
  row.wall_time = wallTimeNow();
  row.elapsed_s = elapsedBefore_ + (loopStarted_ ? seconds(loopStart_, SessionClock::now()) : 0.0);
  if (state_.step > 0) row.lr = state_.lr;
  const auto stepNames = objective_.stepScalarNames();
  for (size_t i = 0; i < stepNames.size(); ++i)
    row.setScalar(stepScalarColumn(stepNames[i]).column,
                  intervalCount_ > 0 ? intervalScalars_[i] / double(intervalCount_) : LogRow::kMissing);
  if (intervalCount_ > 0) {
    row.grad_norm = intervalNorm_ / double(intervalCount_);
    row.batch_loss = intervalLoss_ / double(intervalCount_);
  }
  if (closesWindow) {
    intervalCount_ = 0;
    intervalNorm_ = intervalLoss_ = 0.0;
    std::fill(intervalScalars_.begin(), intervalScalars_.end(), 0.0);
  }
  const auto evalNames = objective_.evaluationScalarNames();
  for (const Part part : {Part::Train, Part::Test}) {
    const auto& positions = part == Part::Train ? evalTrain_ : evalTest_;
    const std::vector<double> values = evaluatePart(part, positions);
    for (size_t i = 0; i < evalNames.size(); ++i)
      row.setScalar(evaluationColumn(part, evalNames[i]).column, i < values.size() ? values[i] : LogRow::kMissing);
    (part == Part::Train ? row.train_items : row.test_items) = static_cast<int64_t>(positions.size());
  }
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

void TrainingLoop::checkpoint() {
  const std::string name = checkpointName(state_.step, state_.samples);
  const std::string dir = (fs::path(opt_.run_dir) / kCheckpointsDir / name).string();
  state_.elapsed_s = elapsedBefore_ + seconds(loopStart_, SessionClock::now());
  state_.early_stopping = early_->state();
  state_.preset = setup_.preset;
  state_.log_window = {intervalLoss_, intervalNorm_, intervalScalars_, intervalCount_};
  // The loss check keeps NaN out of the weights; an update can still overflow them.
  if (const auto problem = io::describeNonFinite(
          std::map<std::string, torch::Tensor>(objective_.trainedParameters().begin(), objective_.trainedParameters().end()),
          "the weights"))
    throw Error(dir, "", "not written: " + *problem + "; the run stops at step " + std::to_string(state_.step) +
                             " (a smaller learning rate may help)");
  const std::string modelName = setup_.run_name + "/" + name;
  writeCheckpoint(
      dir, [&](const std::string& folder) { objective_.saveModel(folder, modelName); },
      adamwStateTensors(*optimizer_, objective_.trainedParameters()), state_, opt_.checkpoint_hooks);
  if (opt_.progress) {
    TrainProgress p = progressBase();
    p.phase = TrainPhase::Checkpointed;
    p.checkpoint = dir;
    opt_.progress(p);
  }
}

void TrainingLoop::loop() {
  const auto& o = setup_.optimization;
  const auto& l = setup_.logging;
  const int64_t total = setup_.total_steps;
  loopStart_ = SessionClock::now();
  loopStarted_ = true;
  if (state_.step == 0 && l.log_every > 0) evaluateAndLog(true);  // the untrained model, as the original did

  while (state_.step < total) {
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
    const auto t0 = SessionClock::now();
    const auto positions = data_.trainBatch(state_.step / stepsPerEpoch_, state_.step % stepsPerEpoch_, o.batch_size);
    const double lr = schedule_->lr(state_.step);
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    // Undefined instead of zeroed: backward then writes gradients instead of adding.
    for (auto& p : tensors_) p.mutable_grad() = torch::Tensor();
    bool stopAll = false;
    std::vector<double> stepScalars;
    if (coll_) {
      const bool stopHere = opt_.control && opt_.control->stopRequested();
      ParallelStep s = dataParallelStep(*coll_, objective_, data_, positions, tensors_, stopHere);
      lastLoss_ = s.loss;
      stopAll = s.stop;
      stepScalars = std::move(s.scalars);
    } else {
      Objective::Step s = objective_.step(data_.fetch(Part::Train, positions));
      s.loss.backward();
      lastLoss_ = s.loss.item<double>();
      stepScalars = std::move(s.scalars);
    }
    const double norm = o.max_grad_norm ? torch::nn::utils::clip_grad_norm_(tensors_, *o.max_grad_norm)
                                        : gradNorm(tensors_);
    // Every rank holds the same reduced loss and norm, so all of them stop or skip together.
    const bool finite = std::isfinite(lastLoss_) && std::isfinite(norm);
    if (!finite && !opt_.skip_nonfinite_steps) stopOnNonFinite(lastLoss_, norm, lr);
    if (finite) optimizer_->step();
    updateSeconds_ += seconds(t0, SessionClock::now());

    state_.step += 1;
    state_.samples += static_cast<int64_t>(positions.size());
    state_.lr = lr;
    state_.epoch = state_.step / stepsPerEpoch_;
    state_.batch_in_epoch = state_.step % stepsPerEpoch_;
    if (finite) {
      intervalLoss_ += lastLoss_;
      intervalNorm_ += norm;
      for (size_t i = 0; i < intervalScalars_.size() && i < stepScalars.size(); ++i)
        intervalScalars_[i] += stepScalars[i];
      intervalCount_ += 1;
    } else {
      state_.skipped_steps += 1;
    }
    if (stopAll) stopReason_ = "stopped";

    if (opt_.progress) {
      TrainProgress p = progressBase();
      p.phase = TrainPhase::Training;
      opt_.progress(p);
    }
    const bool logStep = l.log_every > 0 && state_.step % l.log_every == 0;
    if (logStep || state_.step == total) {
      const LogRow row = evaluateAndLog(logStep);
      // Only regular log steps tick the patience, so an extra evaluation at the end of
      // a shorter session does not change when a resumed run stops.
      if (logStep && !setup_.early_stop_column.empty() && early_->evaluated(row.scalar(setup_.early_stop_column)))
        stopReason_ = "early_stopping";
    }
    if (state_.step % stepsPerEpoch_ == 0 && early_->epochEnded()) stopReason_ = "early_stopping";
    if (writes_ && ((l.checkpoint_every > 0 && state_.step % l.checkpoint_every == 0) ||
                    (l.log_spaced_checkpoints && isLogSpacedStep(state_.step))))
      checkpoint();
    if (!stopReason_.empty()) break;
  }
  if (stopReason_.empty()) stopReason_ = (o.max_steps > 0 && total == o.max_steps) ? "max_steps" : "epochs";
}

LoopResult TrainingLoop::run() {
  if (coll_) synchronizeStart(*coll_, objective_.replicatedState(), state_.step, state_.samples, opt_.run_dir);
  loop();

  bool evaluateLast = false;
  if (rows_.empty() || rows_.back().step != state_.step) {
    // A resumed run that had already reached its end has its last row in the log.
    const bool logged = log_ && !log_->rows().empty() && log_->rows().back().step == state_.step;
    if (logged) rows_.push_back(log_->rows().back());
    else evaluateLast = true;
  }
  // Only rank 0 holds the log: its decision is everyone's (evaluation is collective).
  if (coll_) evaluateLast = broadcastFlag(*coll_, evaluateLast);
  if (evaluateLast) evaluateAndLog(false);
  state_.stop_reason = stopReason_;
  if (writes_) checkpoint();

  LoopResult r;
  r.stop_reason = stopReason_;
  r.state = state_;
  r.steps_per_epoch = stepsPerEpoch_;
  r.total_steps = setup_.total_steps;
  r.rows = log_ ? log_->rows() : rows_;
  r.final = r.rows.empty() ? LogRow{} : r.rows.back();
  r.world_size = coll_ ? coll_->worldSize() : 1;
  return r;
}

void TrainingLoop::stopOnNonFinite(double loss, double norm, double lr) const {
  const int64_t step = state_.step + 1;  // the update that was about to be made
  std::string where = opt_.run_dir.empty() ? std::string("the run") : opt_.run_dir;
  std::string last = "no checkpoint was written yet";
  if (!opt_.run_dir.empty())
    if (const auto cks = listCheckpoints(opt_.run_dir); !cks.empty())
      last = "the last good checkpoint, " + cks.back().name + ", is kept; resume from it (perhaps with a smaller lr)";
  char values[128];
  std::snprintf(values, sizeof values, "loss %g, gradient norm %g, lr %g", loss, norm, lr);
  throw Error(where, "loss",
              "non-finite training loss or gradient at update " + std::to_string(step) + " (" + values +
                  "): the run stops without applying it; " + last +
                  ", or skip such updates (TrainOptions::skip_nonfinite_steps, prisma train --skip-nonfinite)");
}

void TrainingLoop::finish(LoopResult& r) {
  const auto now = SessionClock::now();
  r.elapsed_s = elapsedBefore_ + seconds(loopStart_, now);
  r.session_s = seconds(setup_.session_start, now);
  r.update_s = updateSeconds_;
  r.images_per_s = updateSeconds_ > 0 ? double(state_.samples - sessionFirstSamples_) / updateSeconds_ : 0.0;
  if (opt_.progress) {
    TrainProgress p = progressBase();
    p.phase = TrainPhase::Finished;
    p.stop_reason = stopReason_;
    p.row = r.final;
    opt_.progress(p);
  }
}

}  // namespace prisma::train
