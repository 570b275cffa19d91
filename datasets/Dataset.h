#pragma once
// The interface every dataset offers the explorer's browser, the trainer and the CLI:
// two splits, class names, and cheap random access to any item as a plain 8-bit pixel
// buffer with its label and the factors that generated it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace prisma::datasets {

enum class Split { Train, Test };

std::string toString(Split split);        // "train" / "test"
Split splitFromString(const std::string& name);  // throws std::invalid_argument

// Label of items that have none (loose image files).
inline constexpr int kNoLabel = -1;

struct Item {
  std::vector<std::uint8_t> pixels;  // HWC, row-major; RGB order when channels == 3
  int height = 0;
  int width = 0;
  int channels = 0;
  int label = kNoLabel;
  std::map<std::string, double> factors;  // generating factors, empty for real images
};

// Nominal item geometry; 0 in a field where items differ (image folders).
struct ImageShape {
  int height = 0;
  int width = 0;
  int channels = 0;
};

// Implementations are immutable once built, so item() may be called from any thread.
class Dataset {
public:
  virtual ~Dataset() = default;

  virtual std::string name() const = 0;
  virtual std::size_t size(Split split) const = 0;
  virtual std::vector<std::string> classNames() const = 0;
  virtual ImageShape imageShape() const = 0;
  // Throws std::out_of_range for an index past size(split).
  virtual Item item(Split split, std::size_t index) const = 0;

  // The label alone, without rendering or decoding the image; counting classes over a
  // large split must not cost one image per item.
  virtual int label(Split split, std::size_t index) const { return item(split, index).label; }
  // Keys of Item::factors, in a stable order (the CSV columns of an export).
  virtual std::vector<std::string> factorNames() const { return {}; }
  // Problems met while building that did not stop it (skipped files, ...).
  virtual std::vector<std::string> warnings() const { return {}; }
};

// Items per class in one split; index = label. Items without a label are not counted.
std::vector<std::size_t> classCounts(const Dataset& dataset, Split split);

// Shared by implementations so every dataset reports a bad index the same way.
void checkIndex(const Dataset& dataset, Split split, std::size_t index);

}  // namespace prisma::datasets
