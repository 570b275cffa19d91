#pragma once
// ImageNet-1k class names in index order, for 1000-class models whose files carry no
// names (timm checkpoints, Hugging Face configs with placeholder LABEL_i labels). The
// list is resources/imagenet_classes.txt (Debian opencv-doc's
// classification_classes_ILSVRC2012.txt), compiled into the library at build time.

#include <string>
#include <vector>

namespace prisma::io {

constexpr int kImageNetClassCount = 1000;

std::vector<std::string> imageNetClassNames();

// True when `names` says nothing: empty, or placeholders ("LABEL_3", "3") as libraries
// write them when no labels were given.
bool lacksClassNames(const std::vector<std::string>& names);

}  // namespace prisma::io
