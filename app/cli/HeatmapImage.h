#pragma once
// Heatmaps over the input image for `prisma attention`, drawn with OpenCV so the CLI stays
// free of Qt: a patch-grid map blown up to the image (nearest neighbour, so each patch
// stays a visible block), coloured with inferno, blended over the image, and a colour bar
// with its range. The image is the model's own input with the normalisation undone, so
// what is shown is exactly what the model saw.

#include "datasets/Preprocess.h"

#include <opencv2/core/mat.hpp>
#include <torch/types.h>

#include <string>
#include <vector>

namespace prisma::cli {

struct ColourRange {
  float lo = 0, hi = 1;
};
ColourRange rangeOf(const torch::Tensor& values);  // min and max, widened when they are equal

// One image of a model input [C, H, W] back to 8-bit BGR for display.
cv::Mat displayImage(const torch::Tensor& pixels, const datasets::Preprocess& pre);

// `map` [grid, grid] over `image` (BGR), drawn `size` pixels square.
cv::Mat heatmapOverlay(const cv::Mat& image, const torch::Tensor& map, ColourRange range, int size);

// One map, a title above it and a colour bar beside it.
cv::Mat renderHeatmap(const cv::Mat& image, const torch::Tensor& map, const std::string& title);

// maps [rows, cols, grid, grid] (layers × heads) as labelled thumbnails sharing one colour
// bar, so heads can be compared by colour.
cv::Mat renderHeatmapGrid(const cv::Mat& image, const torch::Tensor& maps, const std::string& title,
                          const std::string& row_label, const std::string& col_label);

// Writes a PNG; throws prisma::Error naming the file when it cannot.
void writePng(const std::string& path, const cv::Mat& image);

}  // namespace prisma::cli
