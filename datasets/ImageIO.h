#pragma once
// Reading images of any kind OpenCV decodes (8/16-bit, grey, RGB, RGBA, any size) into
// one canonical form: float32 RGB or grey in [0, 1], so preprocessing never cares
// about the file's depth or channel order.

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace prisma::datasets {

// Decodes `path`. The result is CV_32FC1 (grey files) or CV_32FC3 in RGB order, values
// in [0, 1]; alpha is composited onto white, as image viewers show it.
// Throws std::runtime_error naming the file when it is missing or not an image.
cv::Mat readImage(const std::string& path);

// Same canonical form from an 8-bit buffer already in memory (dataset items, clipboard).
cv::Mat fromPixels(const unsigned char* data, int height, int width, int channels);

// The inverse of readImage for 8-bit buffers: writes an RGB(A) or grey HWC buffer in the
// format the extension names (.png, .jpg, ...). Throws std::runtime_error naming the file.
void writeImage(const std::string& path, const unsigned char* data, int height, int width,
                int channels);

// A canonical image (see readImage) back to 8-bit HWC pixels, RGB or grey as it is.
std::vector<unsigned char> toPixels(const cv::Mat& image);

}  // namespace prisma::datasets
