#pragma once
// Where the project's bundled resources (the mice zoo, its manifest) are found at run
// time, and the `mouse:NAME` model names that point into them. Looked up in order, first
// match wins, and computed on every call (no cached global state):
//   $PRISMA_RESOURCES; <executable>/../share/prisma-explorer (an install); the source
//   tree's resources/ (compiled in, for builds run in place).

#include <string>
#include <vector>

namespace prisma::io {

constexpr const char* kMousePrefix = "mouse:";
constexpr const char* kMiceFolder = "mice";

// The candidate resource folders, in order (existing ones only).
std::vector<std::string> resourceDirectories();

// The first existing `relative` (file or folder) under the resource folders, or "".
std::string findResource(const std::string& relative);

bool isMouseName(const std::string& model);  // "mouse:..."

// The folder of mouse NAME ("mouse:NAME" or "NAME"): <resources>/mice/NAME. Throws
// prisma::Error naming the mouse and listing the known ones when there is none.
std::string mouseDirectory(const std::string& name);

// Names of the mice in the first resource folder that has any, sorted.
std::vector<std::string> listMice();

}  // namespace prisma::io
