#include "model/train/RunFolderWriter.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/train/Objective.h"
#include "model/train/TrainingCurves.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

std::string localTimeIso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace

std::optional<CheckpointInfo> openRunFolder(const std::string& runDir, bool resume, bool owner) {
  if (resume && runDir.empty()) throw Error("", "run_dir", "resuming needs the run folder");
  std::error_code ec;
  const bool hasPreset = !runDir.empty() && fs::exists(fs::path(runDir) / kPresetFile, ec);
  if (owner && (resume || hasPreset)) removePartialCheckpoints(runDir);
  const auto cks = runDir.empty() ? std::vector<CheckpointInfo>{} : listCheckpoints(runDir);
  if (!cks.empty()) {
    if (resume) return cks.back();
    if (owner) throw Error(runDir, kPresetFile, "this folder already holds a run: resume it or choose another folder");
  }
  if (resume && !hasPreset) throw Error(runDir, kCheckpointsDir, "no complete checkpoint to resume from");
  if (owner) {
    if (hasPreset) RunLog::discard(runDir);  // a run that never reached a checkpoint: start over
    fs::create_directories(runDir, ec);
    if (ec) throw Error(runDir, "", "cannot create the run folder: " + ec.message());
  }
  return std::nullopt;
}

std::unique_ptr<RunFolderLock> lockRunFolder(const std::string& runDir, bool resume) {
  std::error_code ec;
  if (resume && !fs::is_directory(runDir, ec)) throw Error(runDir, "", "no such run folder to resume");
  return std::make_unique<RunFolderLock>(runDir);
}

void writePresetFile(const std::string& runDir, const nlohmann::json& preset) {
  io::writeTextAtomically((fs::path(runDir) / kPresetFile).string(), preset.dump(2) + "\n");
}

std::string runName(const std::string& runDir, const std::string& fallback) {
  if (runDir.empty()) return fallback;
  const fs::path p = fs::path(runDir).lexically_normal();
  const std::string leaf = p.filename().string();
  return leaf.empty() ? p.parent_path().filename().string() : leaf;
}

std::vector<CheckpointInfo> writeClassifierRunSummary(const std::string& runDir, const Objective& objective, TrainingCardInfo card,
                               const std::vector<LogRow>& rows) {
  objective.saveModel(runDir, card.run_name);
  writeTrainingCurves((fs::path(runDir) / kCurvesFile).string(), rows,
                      card.run_name + " - " + card.config.dataset.name + " - step " + std::to_string(card.steps));
  card.finished_at = localTimeIso();
  card.final = rows.empty() ? LogRow{} : rows.back();
  card.checkpoints = listCheckpoints(runDir);
  card.curves_file = kCurvesFile;
  card.hardware = currentHardware();
  // After saveModel, which writes a generic card of its own under the same name.
  io::writeTextAtomically((fs::path(runDir) / kCardFile).string(), trainingCard(card));
  return card.checkpoints;
}

}  // namespace prisma::train
