// The dataset sub-commands. Every one is a thin loop over the datasets API.

#include "app/cli/DatasetCommand.h"

#include "datasets/Dataset.h"
#include "datasets/DatasetRegistry.h"
#include "datasets/ImageIO.h"
#include "model/core/Numbers.h"
#include "model/io/AtomicFile.h"
#include "model/io/OutputPaths.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace prisma::cli {
namespace {

namespace ds = prisma::datasets;

constexpr const char* kUsage =
    "usage: prisma dataset list\n"
    "       prisma dataset info NAME [--split train|test] [options]\n"
    "       prisma dataset export NAME --split train|test --count N --out DIR [options]\n"
    "options: --seed N  --label-factor shape|scale|orientation|posX|posY  --subsample N\n"
    "         --path P (data folder, .npz or image folder)\n"
    "NAME is a dataset from `dataset list`, or an image folder or file.\n";
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kNameWidth = 20;
constexpr int kCountWidth = 8;
constexpr int kFileIndexDigits = 6;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Arguments {
  std::string name;
  std::optional<ds::Split> split;
  std::optional<std::size_t> count;
  std::string out;
  ds::DatasetOptions options;
};

std::uint64_t parseNumber(const std::string& flag, const std::string& text) {
  if (const std::string problem = integerProblem(text, 0, INT64_MAX); !problem.empty())
    throw UsageError(flag + " needs a non-negative whole number, got '" + text + "' (" + problem + ")");
  return static_cast<std::uint64_t>(*parseInteger(text));
}

Arguments parse(const std::vector<std::string>& args, std::size_t first) {
  Arguments a;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string& word = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError(word + " needs a value");
      return args[++i];
    };
    if (word == "--split") {
      try {
        a.split = ds::splitFromString(value());
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    } else if (word == "--count") {
      a.count = parseNumber(word, value());
    } else if (word == "--out") {
      a.out = value();
    } else if (word == "--seed") {
      a.options.seed = parseNumber(word, value());
    } else if (word == "--label-factor") {
      a.options.labelFactor = value();
    } else if (word == "--subsample") {
      a.options.subsample = parseNumber(word, value());
    } else if (word == "--path") {
      a.options.path = value();
    } else if (!word.empty() && word[0] == '-') {
      throw UsageError("unknown option " + word);
    } else if (a.name.empty()) {
      a.name = word;
    } else {
      throw UsageError("unexpected argument '" + word + "'");
    }
  }
  if (a.name.empty()) throw UsageError("missing dataset NAME");
  return a;
}

std::string shapeText(const ds::ImageShape& s) {
  auto dim = [](int v) { return v > 0 ? std::to_string(v) : std::string("any"); };
  return dim(s.height) + "×" + dim(s.width) + "×" + dim(s.channels);
}

void printWarnings(const ds::Dataset& d, std::ostream& err) {
  for (const auto& w : d.warnings()) err << "warning: " << w << '\n';
}

int list(std::ostream& out) {
  out << std::left << std::setw(kNameWidth) << "name" << std::right << std::setw(kCountWidth)
      << "train" << std::setw(kCountWidth) << "test" << std::setw(kCountWidth) << "classes"
      << "  description\n";
  for (const auto& info : ds::builtinDatasets()) {
    out << std::left << std::setw(kNameWidth) << info.name << std::right;
    if (info.name == "folder") {
      out << std::setw(3 * kCountWidth) << "-" << "  " << info.description << '\n';
      continue;
    }
    try {
      const auto d = ds::makeDataset(info.name);
      out << std::setw(kCountWidth) << d->size(ds::Split::Train) << std::setw(kCountWidth)
          << d->size(ds::Split::Test) << std::setw(kCountWidth) << d->classNames().size() << "  "
          << info.description << '\n';
    } catch (const std::exception& e) {
      out << std::setw(3 * kCountWidth) << "-" << "  " << info.description
          << "\n" << std::string(kNameWidth, ' ') << "not available: " << e.what() << '\n';
    }
  }
  return kExitOk;
}

int info(const Arguments& a, std::ostream& out, std::ostream& err) {
  const auto d = ds::makeDataset(a.name, a.options);
  printWarnings(*d, err);
  const std::vector<std::string> classes = d->classNames();
  out << "dataset: " << d->name() << "\nimage: " << shapeText(d->imageShape())
      << "\nclasses: " << classes.size() << '\n';
  std::vector<ds::Split> splits = {ds::Split::Train, ds::Split::Test};
  if (a.split) splits = {*a.split};
  for (ds::Split split : splits) {
    out << toString(split) << ": " << d->size(split) << " items\n";
    const std::vector<std::size_t> counts = ds::classCounts(*d, split);
    for (std::size_t k = 0; k < counts.size(); ++k)
      out << "  " << std::setw(3) << k << "  " << std::left
          << std::setw(kNameWidth) << (k < classes.size() ? classes[k] : std::string("?"))
          << std::right << std::setw(kCountWidth) << counts[k] << '\n';
  }
  return kExitOk;
}

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

// ds::writeImage's PNG, written through the atomic writer: imwrite does not report a full
// disk reliably, and a truncated PNG under its final name would pass for an item.
void writePng(const std::string& path, const ds::Item& item) {
  if (item.height <= 0 || item.width <= 0 || (item.channels != 1 && item.channels != 3 && item.channels != 4))
    throw std::invalid_argument(path + ": bad image geometry");
  cv::Mat view(item.height, item.width, CV_MAKETYPE(CV_8U, item.channels), const_cast<std::uint8_t*>(item.pixels.data()));
  cv::Mat bgr;  // the items are RGB(A), OpenCV encodes BGR(A)
  if (item.channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else if (item.channels == 4) cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = view;
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", bgr, png)) throw std::runtime_error(path + ": cannot encode the image");
  prisma::io::writeFileAtomically(path, [&](const auto& append) { append(png.data(), png.size()); });
}

int exportItems(const Arguments& a, std::ostream& out, std::ostream& err) {
  if (!a.split) throw UsageError("export needs --split train|test");
  if (!a.count) throw UsageError("export needs --count N");
  if (a.out.empty()) throw UsageError("export needs --out DIR");
  // An image folder exported into itself would gain PNGs (and items) of its own.
  prisma::io::refuseOutputOverInputs(a.out, prisma::io::OutputKind::Folder, {a.options.path});

  const auto d = ds::makeDataset(a.name, a.options);
  printWarnings(*d, err);
  const std::size_t n = std::min(*a.count, d->size(*a.split));
  if (n < *a.count)
    err << "warning: the " << toString(*a.split) << " split has only " << n << " items\n";

  const std::filesystem::path dir = a.out;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(a.out + ": cannot create folder (" + ec.message() + ")");
  const std::filesystem::path csvPath = dir / "labels.csv";
  std::ostringstream csv;  // written last and atomically: present means every image is there

  const std::vector<std::string> classes = d->classNames();
  const std::vector<std::string> factors = d->factorNames();
  csv << "file,label,class_name";
  for (const auto& f : factors) csv << ',' << csvField(f);
  csv << '\n';
  for (std::size_t i = 0; i < n; ++i) {
    const ds::Item item = d->item(*a.split, i);
    std::string index = std::to_string(i);
    index.insert(0, std::max(0, kFileIndexDigits - static_cast<int>(index.size())), '0');
    const std::string file = toString(*a.split) + "_" + index + ".png";
    writePng((dir / file).string(), item);
    const bool named = item.label >= 0 && static_cast<std::size_t>(item.label) < classes.size();
    csv << file << ',' << item.label << ',' << csvField(named ? classes[item.label] : "");
    for (const auto& f : factors) {
      const auto it = item.factors.find(f);
      csv << ',' << (it == item.factors.end() ? "" : number(it->second));
    }
    csv << '\n';
  }
  prisma::io::writeTextAtomically(csvPath.string(), csv.str());
  out << "exported " << n << " " << toString(*a.split) << " items of " << d->name() << " to "
      << dir.string() << '\n';
  return kExitOk;
}

}  // namespace

int runDatasetCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      (args.empty() ? err : out) << kUsage;
      return args.empty() ? kExitUsage : kExitOk;
    }
    const std::string& command = args[0];
    if (command == "list") {
      if (args.size() > 1) throw UsageError("list takes no arguments");
      return list(out);
    }
    if (command == "info") return info(parse(args, 1), out, err);
    if (command == "export") return exportItems(parse(args, 1), out, err);
    throw UsageError("unknown dataset command '" + command + "'");
  } catch (const UsageError& e) {
    err << "error: " << e.what() << '\n' << kUsage;
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << '\n';
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace prisma::cli
