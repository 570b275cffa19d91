#include "model/train/Checkpoint.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/AtomicFile.h"
#include "model/io/SafeTensors.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateFormat = "prisma-training-state";
constexpr int kStateFormatVersion = 1;
constexpr const char* kPartialPrefix = ".partial-";

// The rename is durable only once the folder holding it is flushed too.
void syncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the data files themselves are already on disk
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

nlohmann::json trainingStateToJson(const TrainingState& s) {
  return {{"format", kStateFormat},
          {"format_version", kStateFormatVersion},
          {"step", s.step},
          {"samples_seen", s.samples},
          {"data_order",
           {{"seed", s.data_seed},
            {"epoch", s.epoch},
            {"batch_in_epoch", s.batch_in_epoch},
            {"steps_per_epoch", s.steps_per_epoch}}},
          {"scheduler", {{"step", s.step}, {"lr", s.lr}}},
          {"optimizer", {{"type", "adamw"}, {"state_file", kOptimizerStateFile}}},
          {"early_stopping", s.early_stopping},
          {"elapsed_s", s.elapsed_s},
          {"sessions", s.sessions},
          {"stop_reason", s.stop_reason},
          {"log_window",
           {{"loss_sum", s.log_window.loss_sum},
            {"grad_norm_sum", s.log_window.grad_norm_sum},
            {"scalar_sums", s.log_window.scalar_sums},
            {"count", s.log_window.count}}},
          {"skipped_steps", s.skipped_steps},
          {"preset", s.preset}};
}

TrainingState trainingStateFromJson(const nlohmann::json& j, const std::string& source) {
  TrainingState s;
  try {
    if (j.at("format").get<std::string>() != kStateFormat) throw Error(source, "format", "not a training state");
    if (j.at("format_version").get<int>() != kStateFormatVersion)
      throw Error(source, "format_version", "unsupported version");
    s.step = j.at("step").get<int64_t>();
    s.samples = j.at("samples_seen").get<int64_t>();
    const auto& d = j.at("data_order");
    s.data_seed = d.at("seed").get<uint64_t>();
    s.epoch = d.at("epoch").get<int64_t>();
    s.batch_in_epoch = d.at("batch_in_epoch").get<int64_t>();
    s.steps_per_epoch = d.at("steps_per_epoch").get<int64_t>();
    s.lr = j.at("scheduler").at("lr").get<double>();
    s.early_stopping = j.at("early_stopping");
    s.elapsed_s = j.at("elapsed_s").get<double>();
    s.sessions = j.value("sessions", 1);
    s.stop_reason = j.value("stop_reason", "");
    s.preset = j.at("preset");
    if (const auto w = j.find("log_window"); w != j.end()) {
      s.log_window.loss_sum = w->at("loss_sum").get<double>();
      s.log_window.grad_norm_sum = w->at("grad_norm_sum").get<double>();
      s.log_window.scalar_sums = w->at("scalar_sums").get<std::vector<double>>();
      s.log_window.count = w->at("count").get<int64_t>();
    }
    s.skipped_steps = j.value("skipped_steps", int64_t(0));
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "", std::string("not a readable training state: ") + e.what());
  }
  if (s.step < 0 || s.samples < 0 || s.epoch < 0 || s.batch_in_epoch < 0 || s.steps_per_epoch <= 0)
    throw Error(source, "step", "negative or inconsistent positions");
  if (s.log_window.count < 0 || s.log_window.count > s.step || s.skipped_steps < 0 || s.skipped_steps > s.step)
    throw Error(source, "log_window", "counts more updates than the run has made");
  return s;
}

std::string checkpointName(int64_t step, int64_t samples) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "step_%08" PRId64 "-samples_%" PRId64, step, samples);
  return buf;
}

bool isLogSpacedStep(int64_t step) { return step > 0 && (step & (step - 1)) == 0; }

void writeCheckpoint(const std::string& dir, const io::LoadedModel& model,
                     const std::map<std::string, torch::Tensor>& optimizerState, const TrainingState& state,
                     const CheckpointHooks& hooks) {
  writeCheckpoint(dir, [&](const std::string& folder) { io::saveModel(model, folder); }, optimizerState, state, hooks);
}

void writeCheckpoint(const std::string& dir, const ModelWriter& writeModel,
                     const std::map<std::string, torch::Tensor>& optimizerState, const TrainingState& state,
                     const CheckpointHooks& hooks) {
  const fs::path finalDir(dir);
  const fs::path parent = finalDir.parent_path();
  const fs::path temp = parent / (kPartialPrefix + finalDir.filename().string());
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string(), "", "cannot create the folder: " + ec.message());
  fs::remove_all(temp, ec);

  const std::string stateText = trainingStateToJson(state).dump(2);
  writeModel(temp.string());
  io::writeSafeTensors((temp / kOptimizerStateFile).string(), optimizerState, {{"format", "pt"}});
  // Written last, after whatever saveModel writes, so its content is ours in any case.
  io::writeTextAtomically((temp / kTrainingStateFile).string(), stateText + "\n");
  syncDirectory(temp);

  if (hooks.beforeCommit) hooks.beforeCommit(temp.string());

  if (fs::exists(finalDir, ec)) fs::remove_all(finalDir, ec);
  fs::rename(temp, finalDir, ec);
  if (ec) throw Error(finalDir.string(), "", "cannot move the checkpoint into place: " + ec.message());
  syncDirectory(parent);
}

std::vector<CheckpointInfo> listCheckpoints(const std::string& runDir) {
  std::vector<CheckpointInfo> out;
  const fs::path dir = fs::path(runDir) / kCheckpointsDir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    const std::string name = e.path().filename().string();
    long long step = 0, samples = 0;
    char tail = 0;
    if (name.empty() || name[0] == '.' ||
        std::sscanf(name.c_str(), "step_%lld-samples_%lld%c", &step, &samples, &tail) != 2)
      continue;
    if (!fs::is_regular_file(e.path() / kTrainingStateFile, ec)) continue;
    out.push_back({e.path().string(), name, step, samples});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

bool hasOptimizerState(const std::string& checkpointDir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(checkpointDir) / kOptimizerStateFile, ec);
}

void removePartialCheckpoints(const std::string& runDir) {
  const fs::path dir = fs::path(runDir) / kCheckpointsDir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(kPartialPrefix, 0) == 0) fs::remove_all(e.path(), ec);
}

TrainingState readTrainingState(const std::string& checkpointDir) {
  const std::string path = (fs::path(checkpointDir) / kTrainingStateFile).string();
  return trainingStateFromJson(readJsonFile(path), path);
}

}  // namespace prisma::train
