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

std::string header(const std::vector<ScalarColumn>& columns) {
  std::string h;
  for (const char* c : kFixedColumns) h += std::string(h.empty() ? "" : ",") + c;
  for (const auto& c : loopColumns()) h += "," + c.column;
  for (const auto& c : columns) h += "," + c.column;
  return h + "\n";
}

std::string number(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string csvLine(const LogRow& r, const std::vector<ScalarColumn>& columns) {
  std::string s = std::to_string(r.step) + "," + std::to_string(r.samples) + "," + number(r.epoch) + "," +
                  number(r.wall_time) + "," + number(r.elapsed_s);
  for (size_t i = 0; i < loopColumns().size(); ++i) s += "," + number(loopValue(r, i));
  for (const auto& c : columns) s += "," + number(r.scalar(c.column));
  return s + "\n";
}

std::vector<std::string> splitCells(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
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

double LogRow::scalar(const std::string& column) const {
  for (const auto& s : scalars)
    if (s.name == column) return s.value;
  return kMissing;
}

void LogRow::setScalar(const std::string& column, double value) {
  for (auto& s : scalars)
    if (s.name == column) {
      s.value = value;
      return;
    }
  scalars.push_back({column, value});
}

const std::vector<ScalarColumn>& loopColumns() {
  static const std::vector<ScalarColumn> columns = {
      {"lr", "lr"}, {"grad_norm", "grad_norm"}, {"train_batch_loss", "train/batch_loss"}};
  return columns;
}

double loopValue(const LogRow& row, size_t loopColumn) {
  switch (loopColumn) {
    case 0: return row.lr;
    case 1: return row.grad_norm;
    case 2: return row.batch_loss;
    default: return LogRow::kMissing;
  }
}

RunLog::RunLog(std::string dir, std::vector<ScalarColumn> columns)
    : dir_(std::move(dir)), csvPath_((fs::path(dir_) / kCsvName).string()), columns_(std::move(columns)) {}
RunLog::~RunLog() = default;

void RunLog::discard(const std::string& dir) {
  std::error_code ec;
  fs::remove(fs::path(dir) / kCsvName, ec);
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(kEventPrefix, 0) == 0) fs::remove(e.path(), ec);
}

std::unique_ptr<RunLog> RunLog::create(const std::string& dir, std::vector<ScalarColumn> columns) {
  std::unique_ptr<RunLog> log(new RunLog(dir, std::move(columns)));
  io::writeTextAtomically(log->csvPath_, header(log->columns_));
  log->csv_ = std::make_unique<io::AppendFile>(log->csvPath_);
  const double now = wallTimeNow();
  const std::string events =
      (fs::path(dir) / EventFileWriter::fileName(now, hostName(), static_cast<long>(::getpid()))).string();
  log->events_ = std::make_unique<EventFileWriter>(events, false, now);
  return log;
}

std::unique_ptr<RunLog> RunLog::resume(const std::string& dir, int64_t step, std::vector<ScalarColumn> columns) {
  std::unique_ptr<RunLog> log(new RunLog(dir, std::move(columns)));
  std::error_code ec;
  if (fs::exists(log->csvPath_, ec)) {
    std::vector<std::string> names;
    auto rows = readMetricsCsv(log->csvPath_, &names);
    std::vector<std::string> expected;
    for (const auto& c : log->columns_) expected.push_back(c.column);
    if (names != expected)
      throw Error(log->csvPath_, "header", "its columns are not the ones this run logs: " + header(log->columns_));
    for (auto& r : rows)
      if (r.step <= step) log->rows_.push_back(std::move(r));
  }
  std::string text = header(log->columns_);
  for (const auto& r : log->rows_) text += csvLine(r, log->columns_);
  io::writeTextAtomically(log->csvPath_, text);
  log->csv_ = std::make_unique<io::AppendFile>(log->csvPath_);

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
  csv_->append(csvLine(row, columns_));
  auto add = [&](const std::string& tag, double v) {
    if (!std::isnan(v)) events_->addScalar(tag, row.step, static_cast<float>(v), row.wall_time);
  };
  for (size_t i = 0; i < loopColumns().size(); ++i) add(loopColumns()[i].tag, loopValue(row, i));
  for (const auto& c : columns_) add(c.tag, row.scalar(c.column));
  events_->flush();
  rows_.push_back(row);
}

std::vector<LogRow> readMetricsCsv(const std::string& path, std::vector<std::string>* columns) {
  std::ifstream in(path);
  if (!in) throw Error(path, "", "cannot open");
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> head = splitCells(line);
  const size_t fixed = std::size(kFixedColumns), loop = loopColumns().size();
  bool known = head.size() >= fixed + loop;
  for (size_t i = 0; known && i < fixed + loop; ++i)
    known = head[i] == (i < fixed ? std::string(kFixedColumns[i]) : loopColumns()[i - fixed].column);
  if (!known) throw Error(path, "header", "unexpected columns: " + line);
  const std::vector<std::string> names(head.begin() + static_cast<std::ptrdiff_t>(fixed + loop), head.end());
  if (columns) *columns = names;
  std::vector<LogRow> rows;
  int lineNo = 1;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty()) continue;
    const std::vector<std::string> cells = splitCells(line);
    // A line cut short by a crash mid-write is dropped, not an error: the run resumes
    // from a checkpoint taken before it anyway.
    if (cells.size() != head.size()) continue;
    auto num = [&](size_t i) {
      if (cells[i].empty()) return LogRow::kMissing;
      try {
        return std::stod(cells[i]);
      } catch (const std::exception&) {
        throw Error(path + ":" + std::to_string(lineNo), head[i], "not a number: '" + cells[i] + "'");
      }
    };
    LogRow r;
    r.step = static_cast<int64_t>(num(0));
    r.samples = static_cast<int64_t>(num(1));
    r.epoch = num(2);
    r.wall_time = num(3);
    r.elapsed_s = num(4);
    r.lr = num(fixed);
    r.grad_norm = num(fixed + 1);
    r.batch_loss = num(fixed + 2);
    r.scalars.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i) r.scalars.push_back({names[i], num(fixed + loop + i)});
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace prisma::train
