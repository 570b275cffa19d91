#pragma once
// What the folder and loose-file datasets share: checking that a file is a readable
// image, and decoding one into an Item.

#include "datasets/Dataset.h"
#include "datasets/ImageFolderDataset.h"

#include <optional>
#include <string>

namespace prisma::datasets {

// The image's geometry when `path` is readable under `check` (zeros with the header
// check, which does not decode), std::nullopt with the reason in `problem` otherwise.
std::optional<ImageShape> probeImage(const std::string& path, ImageCheck check, std::string& problem);

// Decodes `path` into 8-bit grey or RGB pixels; throws std::runtime_error naming it.
Item readImageItem(const std::string& path, int label);

// Folds one image's geometry into the running common geometry of a set of images.
void mergeShape(ImageShape& common, const ImageShape& next, bool first);

}  // namespace prisma::datasets
