#pragma once
// Checkpoints for training dynamics and resuming. Each one is a folder in the project's
// model format (config.json + model.safetensors, via io::saveModel, so any checkpoint
// opens in `prisma info` and the explorer) plus what resuming needs:
//   training.json          step, samples seen, data-order position and seed, learning
//                          rate, early-stopping state, elapsed time, and the preset
//   optimizer.safetensors  AdamW's exp_avg / exp_avg_sq / step per parameter
// Named by step and samples seen: checkpoints/step_00000128-samples_8192/.
//
// Atomic as a whole: the files are written (each flushed to disk) into a hidden sibling
// folder, which one rename() then moves to the final name. A crash at any point leaves
// either the complete folder under its final name or nothing there (plus a hidden
// leftover that the next run removes).

#include "model/io/ModelLoader.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace prisma::train {

constexpr const char* kCheckpointsDir = "checkpoints";
constexpr const char* kTrainingStateFile = "training.json";
constexpr const char* kOptimizerStateFile = "optimizer.safetensors";

// The sums behind the logged per-interval means (grad_norm, train_batch_loss and the
// objective's train_batch_* columns) since the last regular log step. A checkpoint carries
// them so a resumed run logs the same means as an uninterrupted one.
struct LogWindow {
  double loss_sum = 0.0;
  double grad_norm_sum = 0.0;
  std::vector<double> scalar_sums;  // the objective's step scalars, in its order
  int64_t count = 0;                // updates summed
};

struct TrainingState {
  int64_t step = 0;             // updates made
  int64_t samples = 0;          // training images seen
  int64_t epoch = 0;            // data position of the next update: epoch ...
  int64_t batch_in_epoch = 0;   // ... and batch within it
  int64_t steps_per_epoch = 0;
  uint64_t data_seed = 0;
  double lr = 0.0;              // of the last update
  double elapsed_s = 0.0;       // training wall time so far
  int sessions = 1;             // 1 + times resumed
  nlohmann::json early_stopping = nlohmann::json::object();
  std::string stop_reason;      // why the run ended here, "" mid-run
  nlohmann::json preset;        // the resolved TrainConfig
  LogWindow log_window;         // absent from older checkpoints: read as empty
  int64_t skipped_steps = 0;    // updates skipped for a non-finite loss (when asked to skip)
};

nlohmann::json trainingStateToJson(const TrainingState& state);
TrainingState trainingStateFromJson(const nlohmann::json& j, const std::string& source);

std::string checkpointName(int64_t step, int64_t samples);
// Steps 1, 2, 4, 8, ...: dense early, where training dynamics change fastest.
bool isLogSpacedStep(int64_t step);

struct CheckpointHooks {
  // Called with the temporary folder once every file is written, just before the rename.
  // For fault-injection tests; production code leaves it empty.
  std::function<void(const std::string& tempDir)> beforeCommit;
};

// Writes the checkpoint atomically into `dir` (replacing an older one of the same name).
void writeCheckpoint(const std::string& dir, const io::LoadedModel& model,
                     const std::map<std::string, torch::Tensor>& optimizerState, const TrainingState& state,
                     const CheckpointHooks& hooks = {});
// The same for any trained model: `writeModel` puts the model's files into the folder it
// is given (the checkpoint's temporary folder); training.json is written after it.
using ModelWriter = std::function<void(const std::string& folder)>;
void writeCheckpoint(const std::string& dir, const ModelWriter& writeModel,
                     const std::map<std::string, torch::Tensor>& optimizerState, const TrainingState& state,
                     const CheckpointHooks& hooks = {});

struct CheckpointInfo {
  std::string path;
  std::string name;
  int64_t step = 0;
  int64_t samples = 0;
};
// Complete checkpoints of a run folder, by step; hidden leftovers are ignored.
std::vector<CheckpointInfo> listCheckpoints(const std::string& runDir);
// Whether a checkpoint holds the optimizer state a resume needs; a shipped mouse's
// checkpoint series keeps weights only.
bool hasOptimizerState(const std::string& checkpointDir);
// Deletes leftovers of interrupted checkpoint writes.
void removePartialCheckpoints(const std::string& runDir);

TrainingState readTrainingState(const std::string& checkpointDir);

}  // namespace prisma::train
