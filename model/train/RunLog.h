#pragma once
// A run's logs: metrics.csv (one row per evaluation) and a TensorBoard event file with the
// same numbers as scalars, plus the rows in memory for the model card's curves and a GUI.
// Resuming a run keeps the rows up to the resumed step, in both files, and appends.
//
// The columns are the loop's (step, samples, epoch, wall_time, elapsed_s, then lr,
// grad_norm, train_batch_loss) followed by the objective's own named scalars, so a run of
// any objective (a classifier, a sparse autoencoder) logs what it measures and readers
// (the dashboard, the model card) take the columns from the file's header.

#include "model/train/EventFile.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace prisma::train {

struct NamedScalar {
  std::string name;
  double value = std::numeric_limits<double>::quiet_NaN();
};
using NamedScalars = std::vector<NamedScalar>;

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
  // The objective's scalars by metrics.csv column, in column order (see Objective.h for
  // their names: train_batch_<name>, train_<name>, test_<name>).
  NamedScalars scalars;
  // Items each part's evaluation looked at; in memory only (not a metrics.csv column).
  int64_t train_items = 0;
  int64_t test_items = 0;

  double scalar(const std::string& column) const;  // kMissing when the row has none
  void setScalar(const std::string& column, double value);  // replaces or appends
};

// A metrics.csv column and the TensorBoard tag its values are also written under.
struct ScalarColumn {
  std::string column;
  std::string tag;
  bool operator==(const ScalarColumn& o) const { return column == o.column && tag == o.tag; }
};
// lr, grad_norm, train_batch_loss: the loop's columns, after the five fixed ones and
// before the objective's.
const std::vector<ScalarColumn>& loopColumns();
// A row's value of loopColumns()[loopColumn].
double loopValue(const LogRow& row, size_t loopColumn);

class RunLog {
public:
  static constexpr const char* kCsvName = "metrics.csv";

  // Starts fresh logs in `dir` with the objective's columns after the loop's.
  static std::unique_ptr<RunLog> create(const std::string& dir, std::vector<ScalarColumn> columns);
  // Continues the logs in `dir`, dropping rows and events after `step`. Throws
  // prisma::Error naming metrics.csv when its columns are not these.
  static std::unique_ptr<RunLog> resume(const std::string& dir, int64_t step, std::vector<ScalarColumn> columns);
  // Removes the logs of `dir` (metrics.csv and every event file): a run that starts over.
  static void discard(const std::string& dir);
  ~RunLog();

  // Writes the row to both files and syncs them to disk; a failed write (a full disk)
  // leaves each file without a torn row and throws prisma::Error naming the file.
  void append(const LogRow& row);
  const std::vector<LogRow>& rows() const { return rows_; }
  const std::vector<ScalarColumn>& columns() const { return columns_; }
  const std::string& csvPath() const { return csvPath_; }
  std::string eventPath() const { return events_ ? events_->path() : std::string(); }

private:
  RunLog(std::string dir, std::vector<ScalarColumn> columns);
  std::string dir_;
  std::string csvPath_;
  std::vector<ScalarColumn> columns_;  // the objective's
  std::unique_ptr<io::AppendFile> csv_;
  std::unique_ptr<EventFileWriter> events_;
  std::vector<LogRow> rows_;
};

// Reads metrics.csv back: every column after the loop's becomes a named scalar of each row
// (empty cells are NaN). `columns`, when given, receives those columns' names in order.
// Throws prisma::Error naming the line.
std::vector<LogRow> readMetricsCsv(const std::string& path, std::vector<std::string>* columns = nullptr);

}  // namespace prisma::train
