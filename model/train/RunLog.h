#pragma once
// A run's logs: metrics.csv (one row per evaluation) and a TensorBoard event file with the
// same numbers as scalars, plus the rows in memory for the model card's curves and a GUI.
// Resuming a run keeps the rows up to the resumed step, in both files, and appends.

#include "model/train/EventFile.h"
#include "model/train/Evaluation.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace prisma::train {

struct LogRow {
  static constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  int64_t step = 0;
  int64_t samples = 0;
  double epoch = 0.0;          // samples seen / train part size
  double wall_time = 0.0;      // seconds since the Unix epoch
  double elapsed_s = 0.0;      // training time so far, resumed sessions included
  double lr = kMissing;        // of the last update
  double grad_norm = kMissing; // mean global gradient norm (before clipping) since the last row
  double batch_loss = kMissing;  // mean training-batch loss since the last row
  EvalMetrics train;
  EvalMetrics test;
};

// The columns of metrics.csv after step, samples, epoch, wall_time and elapsed_s, and the
// TensorBoard tag each one is also written under.
struct ScalarColumn {
  const char* column;
  const char* tag;
  double& (*field)(LogRow&);
  double get(const LogRow& row) const { return field(const_cast<LogRow&>(row)); }  // reads only
};
const std::vector<ScalarColumn>& scalarColumns();

class RunLog {
public:
  static constexpr const char* kCsvName = "metrics.csv";

  // Starts fresh logs in `dir`.
  static std::unique_ptr<RunLog> create(const std::string& dir);
  // Continues the logs in `dir`, dropping rows and events after `step`.
  static std::unique_ptr<RunLog> resume(const std::string& dir, int64_t step);

  void append(const LogRow& row);  // writes and flushes both files
  const std::vector<LogRow>& rows() const { return rows_; }
  const std::string& csvPath() const { return csvPath_; }
  std::string eventPath() const { return events_ ? events_->path() : std::string(); }

private:
  RunLog(std::string dir);
  std::string dir_;
  std::string csvPath_;
  std::unique_ptr<EventFileWriter> events_;
  std::vector<LogRow> rows_;
};

// Reads metrics.csv back (empty cells are NaN). Throws prisma::Error naming the line.
std::vector<LogRow> readMetricsCsv(const std::string& path);

}  // namespace prisma::train
