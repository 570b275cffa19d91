#pragma once
// The model card (README.md, Hugging Face's format: YAML front matter with library_name,
// tags, datasets, metrics and a model-index, then Markdown) of a training run. It records
// what is needed to reproduce and judge the run: dataset and the seed of the training-data
// order, every hyperparameter, optimizer and learning-rate schedule, hardware (CPU,
// threads, BLAS), wall time, final metrics, the checkpoints, and the curves image.

#include "model/train/Checkpoint.h"
#include "model/train/RunLog.h"
#include "model/train/TrainConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace prisma::train {

struct HardwareInfo {
  std::string cpu;
  int cores = 0;
  int threads = 0;        // LibTorch intra-op threads
  std::string blas;       // vendor, core, threads, library
  std::string libtorch;   // version
};
HardwareInfo currentHardware();

struct TrainingCardInfo {
  TrainConfig config;
  std::string run_name;
  int64_t parameters = 0;
  int64_t trainable_parameters = 0;
  std::string dataset_description;
  size_t train_size = 0;
  size_t test_size = 0;
  bool test_held_out = false;  // test part carved out of the train split
  std::vector<std::string> class_names;
  int64_t steps = 0;
  int64_t samples = 0;
  int64_t steps_per_epoch = 0;
  int64_t planned_steps = 0;
  std::string stop_reason;
  double elapsed_s = 0.0;      // training wall time, resumed sessions included
  int sessions = 1;            // 1 + times resumed
  std::string finished_at;     // local time, ISO 8601
  LogRow final;
  std::vector<CheckpointInfo> checkpoints;
  std::string curves_file;     // relative to the card
  HardwareInfo hardware;
  int world_size = 1;          // data-parallel processes of the last session
};

std::string trainingCard(const TrainingCardInfo& info);

}  // namespace prisma::train
