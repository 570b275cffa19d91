#pragma once
// A run folder around the training loop: before it, the folder is created (refusing one
// that already holds a run) or the latest complete checkpoint is found to resume from;
// preset.json records the resolved preset; after it, a classifier run's folder gets its
// final model, curves and model card. The layout:
//   preset.json                      the resolved preset (every field)
//   config.json, model.safetensors   the final model (`prisma info DIR`, `prisma run DIR`)
//   README.md, curves.png            model card and its loss/accuracy plot
//   metrics.csv, events.out.tfevents.*   per-evaluation metrics, TensorBoard scalars
//   checkpoints/step_XXXXXXXX-samples_N/  model + training.json + optimizer.safetensors

#include "model/train/Checkpoint.h"
#include "model/train/RunLock.h"
#include "model/train/RunLog.h"
#include "model/train/TrainingCard.h"

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prisma::train {

class Objective;

constexpr const char* kPresetFile = "preset.json";
constexpr const char* kCardFile = "README.md";
constexpr const char* kCurvesFile = "curves.png";

// Resuming: the latest complete checkpoint (leftovers of interrupted ones are removed
// first when `owner`, the process that writes). Otherwise, when `owner`, creates the
// folder. Throws prisma::Error when there is nothing to resume, or the folder already
// holds a run, or it cannot be created.
//
// A folder with preset.json but no complete checkpoint (a run killed before its first
// checkpoint) holds nothing worth keeping: resuming it starts over from step 0 (returns
// nullopt), and so does a new run in it; either way, when `owner`, its logs are removed
// first so the new ones do not follow stale rows or a second event file.
std::optional<CheckpointInfo> openRunFolder(const std::string& runDir, bool resume, bool owner);

// The exclusive lock the writing process holds on its run folder for the run's whole life
// (RunLock.h); resuming needs the folder to exist, a new run creates it.
std::unique_ptr<RunFolderLock> lockRunFolder(const std::string& runDir, bool resume);

void writePresetFile(const std::string& runDir, const nlohmann::json& preset);

// The run folder's name ("" runDir: `fallback`).
std::string runName(const std::string& runDir, const std::string& fallback);

// The final model (saved by the objective), the curves of `rows` and the model card. The
// card's fields about the run itself are the caller's; the final row, checkpoints,
// curves file, hardware and finish time are filled in here. Returns the checkpoints.
std::vector<CheckpointInfo> writeClassifierRunSummary(const std::string& runDir, const Objective& objective, TrainingCardInfo card,
                               const std::vector<LogRow>& rows);

}  // namespace prisma::train
