#pragma once
// TensorBoard event files, written without TensorFlow or protobuf: a sequence of TFRecord
// records (uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of
// the data), each an `Event` protobuf encoded by hand: wall_time (1, double), step (2,
// int64), file_version (3, "brain.Event:2", first record only), summary (5) holding
// Summary.Value {tag (1), simple_value (2, float)}. One scalar per event, as PyTorch's
// SummaryWriter.add_scalar writes them, so TensorBoard (and W&B's sync) read the file.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prisma::io {
class AppendFile;
}

namespace prisma::train {

struct ScalarValue {
  std::string tag;
  float value = 0.0f;
};

struct EventRecord {
  double wall_time = 0.0;
  int64_t step = 0;
  std::string file_version;         // set in the first record only
  std::string writer;               // source_metadata.writer, first record only
  std::vector<ScalarValue> scalars;
};

// The protobuf bytes of one Event (fields at their proto3 defaults are omitted).
std::string encodeEvent(const EventRecord& event);
// One TFRecord: length, masked CRC of the length, data, masked CRC of the data.
std::string frameRecord(const std::string& data);

class EventFileWriter {
public:
  // Creates `path` and writes the file-version record, or with `append` continues an
  // existing file. Throws prisma::Error naming the file. Records are held until flush(),
  // which appends them in one checked write (io::AppendFile: a failed write leaves the file
  // as it was); the destructor flushes what is left, ignoring errors.
  explicit EventFileWriter(std::string path, bool append = false, double wallTime = -1.0);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // wallTime < 0: now.
  void addScalar(const std::string& tag, int64_t step, float value, double wallTime = -1.0);
  void flush();  // writes the held records to disk, so a crash after it loses none
  const std::string& path() const { return path_; }

  // events.out.tfevents.<seconds>.<host>.<pid>.<index>, TensorFlow's naming.
  static std::string fileName(double wallTime, const std::string& host, long pid, int index = 0);

private:
  std::string path_;
  std::unique_ptr<io::AppendFile> file_;
  std::string pending_;  // framed records not yet flushed
};

double wallTimeNow();

// Every record, each length and data CRC verified; throws prisma::Error naming the file
// and byte offset of the first bad record. With `tolerateTornTail`, a last record cut
// short (a crash while writing it) ends the list instead.
std::vector<EventRecord> readEventFile(const std::string& path, bool tolerateTornTail = false);

// Rewrites `path` (atomically) keeping the file-version record and the events with
// step <= maxStep: what a resumed run does so its curves do not show the lost steps twice.
void truncateEventFile(const std::string& path, int64_t maxStep);

}  // namespace prisma::train
