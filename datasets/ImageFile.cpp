// Image probing and decoding through ImageIO, so folder items look exactly like the
// images the rest of the explorer reads.

#include "datasets/ImageFile.h"

#include "datasets/ImageIO.h"

#include <opencv2/imgcodecs.hpp>

#include <filesystem>

namespace prisma::datasets {

std::optional<ImageShape> probeImage(const std::string& path, ImageCheck check, std::string& problem) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    problem = "no such file";
    return std::nullopt;
  }
  try {
    if (check == ImageCheck::Header) {
      if (cv::haveImageReader(path)) return ImageShape{};
      problem = "not an image OpenCV can read";
      return std::nullopt;
    }
    const cv::Mat image = readImage(path);
    return ImageShape{image.rows, image.cols, image.channels()};
  } catch (const std::exception& e) {
    // readImage's message starts with the path; keep only the reason.
    const std::string message = e.what();
    const std::string prefix = path + ": ";
    problem = message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
    return std::nullopt;
  }
}

Item readImageItem(const std::string& path, int label) {
  cv::Mat image;
  try {
    image = readImage(path);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(path + ": cannot decode (" + e.msg + ")");
  }
  Item out;
  out.height = image.rows;
  out.width = image.cols;
  out.channels = image.channels();
  out.pixels = toPixels(image);
  out.label = label;
  return out;
}

void mergeShape(ImageShape& common, const ImageShape& next, bool first) {
  if (first) {
    common = next;
    return;
  }
  if (common.height != next.height) common.height = 0;
  if (common.width != next.width) common.width = 0;
  if (common.channels != next.channels) common.channels = 0;
}

}  // namespace prisma::datasets
