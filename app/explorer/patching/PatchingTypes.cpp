#include "app/explorer/patching/PatchingTypes.h"

#include "app/explorer/DatasetThumbnailModel.h"

#include "model/io/DatasetItemSpec.h"

namespace prisma::app {

QString componentName(interp::ComponentKind kind) { return QString::fromStdString(interp::toString(kind)); }

QString PatchingSetup::metricLabel(const QStringList& classNames) const {
  auto name = [&](size_t i) {
    const int c = i < metric.classes.size() ? metric.classes[i] : -1;
    return classNames.value(c, QString::number(c));
  };
  switch (metric.kind) {
    case interp::MetricKind::LogitDiff:
      return metric.normalized ? QStringLiteral("normalised logit diff %1 vs %2").arg(name(0), name(1))
                               : QStringLiteral("logit[%1] \u2212 logit[%2]").arg(name(0), name(1));
    case interp::MetricKind::Logit: return QStringLiteral("logit[%1]").arg(name(0));
    case interp::MetricKind::Prob: return QStringLiteral("P(%1)").arg(name(0));
    case interp::MetricKind::CrossEntropy: return QStringLiteral("\u2212log P(%1)").arg(name(0));
    case interp::MetricKind::CosineToClean:
      return metric.normalized ? QStringLiteral("normalised cosine to the clean output")
                               : QStringLiteral("cosine to the clean output");
  }
  return {};
}

int PatchingGrid::cols() const {
  int n = 1;
  for (int i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

QVector<int> PatchingGrid::cellAt(int row, int col) const {
  QVector<int> cell(shape.size());
  cell[0] = row;
  for (int i = shape.size() - 1; i >= 1; --i) {
    cell[i] = col % shape[i];
    col /= shape[i];
  }
  return cell;
}

ImageRequest requestFromSpec(const QString& spec) {
  const auto in = io::readDatasetItemSpec(spec.toStdString());
  if (!in) return ImageRequest::file(spec);
  ImageRequest r = ImageRequest::image(itemToImage(in->item), spec);
  r.dataset = QString::fromStdString(in->dataset);
  r.split = QString::fromStdString(datasets::toString(in->split));
  r.row = static_cast<int>(in->row);
  return r;
}

}  // namespace prisma::app
