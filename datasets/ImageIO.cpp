#include "datasets/ImageIO.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <stdexcept>

namespace prisma::datasets {
namespace {

cv::Mat toUnitFloat(const cv::Mat& raw, const std::string& what) {
  double scale = 1.0;
  switch (raw.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F:
    case CV_64F: scale = 1.0; break;
    default:
      throw std::runtime_error(what + ": unsupported pixel depth (need 8-bit, 16-bit or float)");
  }
  cv::Mat f;
  raw.convertTo(f, CV_MAKETYPE(CV_32F, raw.channels()), scale);

  switch (f.channels()) {
    case 1: return f;
    case 3: {
      cv::Mat rgb;
      cv::cvtColor(f, rgb, cv::COLOR_BGR2RGB);
      return rgb;
    }
    case 4: {
      // Composite onto white: transparent pixels look white in every viewer.
      std::vector<cv::Mat> ch;
      cv::split(f, ch);
      cv::Mat inv = 1.0 - ch[3];
      std::vector<cv::Mat> rgb = {ch[2].mul(ch[3]) + inv, ch[1].mul(ch[3]) + inv,
                                  ch[0].mul(ch[3]) + inv};
      cv::Mat out;
      cv::merge(rgb, out);
      return out;
    }
    default:
      throw std::runtime_error(what + ": unsupported channel count " +
                               std::to_string(f.channels()));
  }
}

}  // namespace

cv::Mat readImage(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": no such file");
  cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
  if (raw.empty()) throw std::runtime_error(path + ": not an image OpenCV can read");
  return toUnitFloat(raw, path);
}

cv::Mat fromPixels(const unsigned char* data, int height, int width, int channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3 && channels != 4))
    throw std::invalid_argument("fromPixels: bad image geometry");
  // The buffer is RGB(A); OpenCV's conversion expects BGR(A), so swap first.
  cv::Mat view(height, width, CV_MAKETYPE(CV_8U, channels), const_cast<unsigned char*>(data));
  cv::Mat bgr;
  if (channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else if (channels == 4) cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = view;
  return toUnitFloat(bgr, "pixel buffer");
}

void writeImage(const std::string& path, const unsigned char* data, int height, int width,
                int channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3 && channels != 4))
    throw std::invalid_argument(path + ": bad image geometry");
  cv::Mat view(height, width, CV_MAKETYPE(CV_8U, channels), const_cast<unsigned char*>(data));
  cv::Mat bgr;
  if (channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else if (channels == 4) cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGRA);
  else bgr = view;
  bool written = false;
  try {
    written = cv::imwrite(path, bgr);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(path + ": cannot write image (" + e.msg + ")");
  }
  if (!written) throw std::runtime_error(path + ": cannot write image");
}

std::vector<unsigned char> toPixels(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("toPixels: empty image");
  cv::Mat bytes;
  // Canonical images are in [0, 1]; convertTo rounds and saturates.
  image.convertTo(bytes, CV_MAKETYPE(CV_8U, image.channels()), 255.0);
  if (!bytes.isContinuous()) bytes = bytes.clone();
  return {bytes.datastart, bytes.dataend};
}

}  // namespace prisma::datasets
