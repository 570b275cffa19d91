// CSV values are printed with 17 significant digits, so parsing a cell gives the exact
// double the trainer had, and its float32 rounding is the event file's simple_value.

#include "model/train/RunLog.h"

#include "model/Error.h"
#include "model/io/AtomicFile.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFixedColumns[] = {"step", "samples", "epoch", "wall_time", "elapsed_s"};
constexpr const char* kEventPrefix = "events.out.tfevents.";
constexpr size_t kHostNameMax = 256;

std::string header() {
  std::string h;
  for (const char* c : kFixedColumns) h += std::string(h.empty() ? "" : ",") + c;
  for (const auto& c : scalarColumns()) h += std::string(",") + c.column;
  return h + "\n";
}

std::string number(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string csvLine(const LogRow& r) {
  std::string s = std::to_string(r.step) + "," + std::to_string(r.samples) + "," + number(r.epoch) + "," +
                  number(r.wall_time) + "," + number(r.elapsed_s);
  for (const auto& c : scalarColumns()) s += "," + number(c.get(r));
  return s + "\n";
}

void appendText(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw Error(path, "", "cannot open for appending");
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw Error(path, "", "write failed");
}

std::string hostName() {
  char buf[kHostNameMax] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !*buf) return "localhost";
  return buf;
}

std::string findEventFile(const std::string& dir) {
  std::string found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kEventPrefix, 0) == 0 && name.find(".tmp-") == std::string::npos &&
        (found.empty() || e.path().string() > found))
      found = e.path().string();
  }
  return found;
}

}  // namespace

const std::vector<ScalarColumn>& scalarColumns() {
  static const std::vector<ScalarColumn> columns = {
      {"lr", "lr", [](LogRow& r) -> double& { return r.lr; }},
      {"grad_norm", "grad_norm", [](LogRow& r) -> double& { return r.grad_norm; }},
      {"train_batch_loss", "train/batch_loss", [](LogRow& r) -> double& { return r.batch_loss; }},
      {"train_loss", "train/loss", [](LogRow& r) -> double& { return r.train.loss; }},
      {"train_acc", "train/acc", [](LogRow& r) -> double& { return r.train.top1; }},
      {"train_top5", "train/top5", [](LogRow& r) -> double& { return r.train.top5; }},
      {"test_loss", "test/loss", [](LogRow& r) -> double& { return r.test.loss; }},
      {"test_acc", "test/acc", [](LogRow& r) -> double& { return r.test.top1; }},
      {"test_top5", "test/top5", [](LogRow& r) -> double& { return r.test.top5; }},
  };
  return columns;
}

RunLog::RunLog(std::string dir) : dir_(std::move(dir)), csvPath_((fs::path(dir_) / kCsvName).string()) {}

std::unique_ptr<RunLog> RunLog::create(const std::string& dir) {
  std::unique_ptr<RunLog> log(new RunLog(dir));
  io::writeTextAtomically(log->csvPath_, header());
  const double now = wallTimeNow();
  const std::string events =
      (fs::path(dir) / EventFileWriter::fileName(now, hostName(), static_cast<long>(::getpid()))).string();
  log->events_ = std::make_unique<EventFileWriter>(events, false, now);
  return log;
}

std::unique_ptr<RunLog> RunLog::resume(const std::string& dir, int64_t step) {
  std::unique_ptr<RunLog> log(new RunLog(dir));
  std::error_code ec;
  if (fs::exists(log->csvPath_, ec)) {
    for (auto& r : readMetricsCsv(log->csvPath_))
      if (r.step <= step) log->rows_.push_back(r);
  }
  std::string text = header();
  for (const auto& r : log->rows_) text += csvLine(r);
  io::writeTextAtomically(log->csvPath_, text);

  const std::string events = findEventFile(dir);
  if (events.empty()) {
    const double now = wallTimeNow();
    log->events_ = std::make_unique<EventFileWriter>(
        (fs::path(dir) / EventFileWriter::fileName(now, hostName(), static_cast<long>(::getpid()))).string(),
        false, now);
  } else {
    truncateEventFile(events, step);
    log->events_ = std::make_unique<EventFileWriter>(events, /*append=*/true);
  }
  return log;
}

void RunLog::append(const LogRow& row) {
  appendText(csvPath_, csvLine(row));
  for (const auto& c : scalarColumns()) {
    const double v = c.get(row);
    if (!std::isnan(v)) events_->addScalar(c.tag, row.step, static_cast<float>(v), row.wall_time);
  }
  events_->flush();
  rows_.push_back(row);
}

std::vector<LogRow> readMetricsCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "", "cannot open");
  std::string line;
  std::getline(in, line);
  if (line + "\n" != header()) throw Error(path, "header", "unexpected columns: " + line);
  std::vector<LogRow> rows;
  int lineNo = 1;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    const size_t expected = std::size(kFixedColumns) + scalarColumns().size();
    // A line cut short by a crash mid-write is dropped, not an error: the run resumes
    // from a checkpoint taken before it anyway.
    if (cells.size() != expected) continue;
    auto num = [&](size_t i) {
      if (cells[i].empty()) return LogRow::kMissing;
      try {
        return std::stod(cells[i]);
      } catch (const std::exception&) {
        throw Error(path + ":" + std::to_string(lineNo), i < std::size(kFixedColumns) ? kFixedColumns[i]
                                                                                        : scalarColumns()[i - std::size(kFixedColumns)].column,
                    "not a number: '" + cells[i] + "'");
      }
    };
    LogRow r;
    r.step = static_cast<int64_t>(num(0));
    r.samples = static_cast<int64_t>(num(1));
    r.epoch = num(2);
    r.wall_time = num(3);
    r.elapsed_s = num(4);
    size_t i = std::size(kFixedColumns);
    for (const auto& c : scalarColumns()) c.field(r) = num(i++);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace prisma::train
