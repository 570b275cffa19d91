#include "app/explorer/patching/PatchingTypes.h"

#include "app/explorer/DatasetThumbnailModel.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace prisma::app {

QString toString(PatchMetricKind kind) {
  switch (kind) {
    case PatchMetricKind::LogitDiff: return QStringLiteral("logit_diff");
    case PatchMetricKind::NormalizedLogitDiff: return QStringLiteral("normalized_logit_diff");
    case PatchMetricKind::Probability: return QStringLiteral("prob");
  }
  return {};
}

QString PatchingSetup::metricKey() const {
  if (metric == PatchMetricKind::Probability) return QStringLiteral("%1(%2)").arg(toString(metric)).arg(classA);
  return QStringLiteral("%1(%2,%3)").arg(toString(metric)).arg(classA).arg(classB);
}

QString PatchingSetup::metricLabel(const QStringList& classNames) const {
  const QString a = classNames.value(classA, QString::number(classA));
  const QString b = classNames.value(classB, QString::number(classB));
  switch (metric) {
    case PatchMetricKind::LogitDiff: return QStringLiteral("logit[%1] \u2212 logit[%2]").arg(a, b);
    case PatchMetricKind::NormalizedLogitDiff: return QStringLiteral("normalised logit diff %1 vs %2").arg(a, b);
    case PatchMetricKind::Probability: return QStringLiteral("P(%1)").arg(a);
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
  static const QRegularExpression datasetItem(QStringLiteral("^([A-Za-z0-9_-]+)/(train|test)/(\\d+)$"));
  const QRegularExpressionMatch m = datasetItem.match(spec);
  if (!m.hasMatch() || QFileInfo::exists(spec)) return ImageRequest::file(spec);
  const std::string name = m.captured(1).toStdString();
  const datasets::Split split = datasets::splitFromString(m.captured(2).toStdString());
  const auto ds = datasets::makeDataset(name);
  const qulonglong row = m.captured(3).toULongLong();
  if (row >= ds->size(split))
    throw Error(spec.toStdString(), "INDEX", "outside the split's " + std::to_string(ds->size(split)) + " items");
  ImageRequest r = ImageRequest::image(itemToImage(ds->item(split, row)), spec);
  r.dataset = m.captured(1);
  r.split = m.captured(2);
  r.row = static_cast<int>(row);
  return r;
}

}  // namespace prisma::app
