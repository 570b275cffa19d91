#include "app/explorer/ExplorerTypes.h"

namespace prisma::app {

namespace {

// Row `query` of a [tokens, tokens] matrix starting at `base`, keys restricted to patches.
// `first` is the first patch token (after CLS and registers).
widgets::PatchGridValues rowOverPatches(const float* base, int tokens, int rows, int cols, int first,
                                 std::optional<int> query) {
  widgets::PatchGridValues g{rows, cols, {}};
  g.values.resize(rows * cols);
  if (query) {
    const float* row = base + static_cast<size_t>(*query) * tokens;
    std::copy(row + first, row + first + rows * cols, g.values.begin());
  } else {
    // No CLS token: show where the image attends on average.
    for (int q = 0; q < tokens; ++q)
      for (int k = 0; k < rows * cols; ++k) g.values[k] += base[static_cast<size_t>(q) * tokens + first + k] / tokens;
  }
  return g;
}

}  // namespace

ImageRequest ImageRequest::file(const QString& spec) {
  ImageRequest r;
  r.path = spec;
  r.title = spec.section('/', -1);
  return r;
}

ImageRequest ImageRequest::image(const QImage& pixels, const QString& title) {
  ImageRequest r;
  r.pixels = pixels;
  r.title = title;
  return r;
}

widgets::PatchGridValues AttentionResult::attention(int layer, int head, std::optional<QPoint> query) const {
  if (!isValid() || layer < 0 || layer >= layers || head < 0 || head >= heads) return {};
  const float* base = patterns->data() + (static_cast<size_t>(layer) * heads + head) * tokens * tokens;
  std::optional<int> q;
  if (query) q = patchToken(query->y(), query->x());
  else if (hasCls) q = 0;
  return rowOverPatches(base, tokens, gridRows, gridCols, patchToken(0, 0), q);
}

widgets::PatchGridValues AttentionResult::rolloutGrid(std::optional<QPoint> query) const {
  if (!rollout) return {};
  std::optional<int> q;
  if (query) q = patchToken(query->y(), query->x());
  else if (hasCls) q = 0;
  return rowOverPatches(rollout->data(), tokens, gridRows, gridCols, patchToken(0, 0), q);
}

widgets::PatchGridValues AttentionResult::relevancyGrid(std::optional<QPoint> query) const {
  if (!relevancy) return {};
  std::optional<int> q;
  if (query) q = patchToken(query->y(), query->x());
  else if (hasCls) q = 0;
  return rowOverPatches(relevancy->data(), tokens, gridRows, gridCols, patchToken(0, 0), q);
}

QVector<float> AttentionResult::patternMatrix(int layer, int head) const {
  if (!isValid()) return {};
  const float* base = patterns->data() + (static_cast<size_t>(layer) * heads + head) * tokens * tokens;
  return QVector<float>(base, base + tokens * tokens);
}

}  // namespace prisma::app
