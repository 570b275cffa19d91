#include "app/explorer/ModelsPanel.h"

#include "model/io/ResourcePaths.h"

#include <QCheckBox>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kMaxRecent = 10;
const char* const kSettingsRecent = "models/recent";
const char* const kSettingsProcessWeights = "models/processWeights";
// Small enough to read at a glance, and its task (same shape or not) is the seed's story.
const char* const kDefaultMouse = "induction-2L";
}  // namespace

QStringList bundledModels() {
  // The model library's list, so this panel and `mouse:` names always agree on where the
  // mice are ($PRISMA_RESOURCES, the install, the source tree).
  QStringList out;
  for (const std::string& name : io::listMice()) out << QString::fromStdString(io::mouseDirectory(name));
  return out;
}

QString defaultBundledModel() {
  const QStringList bundled = bundledModels();
  for (const QString& path : bundled)
    if (QFileInfo(path).fileName() == QLatin1String(kDefaultMouse)) return path;
  return bundled.isEmpty() ? QString() : bundled.first();
}

ModelsPanel::ModelsPanel(QWidget* parent) : QWidget(parent) {
  list_ = new QListWidget(this);
  list_->setObjectName(QStringLiteral("modelList"));
  summary_ = new QLabel(tr("No model loaded. Open a model folder or file (Ctrl+O), or drop one on the window."), this);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* open = new QPushButton(tr("Open…"), this);
  processWeights_ = new QCheckBox(tr("Process weights on load"), this);
  processWeights_->setObjectName(QStringLiteral("processWeightsBox"));
  processWeights_->setToolTip(
      tr("Fold LayerNorm / centre writing weights / fold value biases, as TransformerLens and ViT-Prisma do: "
         "the same function, in weights that are easier to read. Models without pre-LN LayerNorm load unchanged."));
  processWeights_->setChecked(QSettings().value(kSettingsProcessWeights, false).toBool());
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(summary_);
  layout->addWidget(list_, 1);
  layout->addWidget(processWeights_);
  layout->addWidget(open);
  connect(processWeights_, &QCheckBox::toggled, this, [this](bool on) {
    QSettings().setValue(kSettingsProcessWeights, on);
    emit processWeightsChanged(on);
  });
  connect(open, &QPushButton::clicked, this, &ModelsPanel::openRequested);
  connect(list_, &QListWidget::itemActivated, this,
          [this](QListWidgetItem* item) { emit modelChosen(item->data(Qt::UserRole).toString()); });
  refreshList();
}

bool ModelsPanel::processWeights() const { return processWeights_->isChecked(); }

QStringList ModelsPanel::recentModels() const { return QSettings().value(kSettingsRecent).toStringList(); }

void ModelsPanel::setLoaded(const ModelSummary& s) {
  summary_->setText(tr("<b>%1</b><br>%2<br>%3<br>%4 classes").arg(s.name.toHtmlEscaped(), s.format, s.architecture).arg(s.classes));
  summary_->setToolTip(s.source + (s.notes.isEmpty() ? QString() : QStringLiteral("\n") + s.notes.join('\n')));
  if (s.source.startsWith('(')) return;  // in-memory models are not files to reopen
  QStringList recent = recentModels();
  recent.removeAll(s.source);
  recent.prepend(s.source);
  while (recent.size() > kMaxRecent) recent.removeLast();
  QSettings().setValue(kSettingsRecent, recent);
  refreshList();
}

void ModelsPanel::refreshList() {
  list_->clear();
  auto add = [this](const QString& path, const QString& group) {
    auto* item = new QListWidgetItem(QStringLiteral("%1 — %2").arg(QFileInfo(path).fileName(), group), list_);
    item->setData(Qt::UserRole, path);
    item->setToolTip(path);
  };
  for (const QString& p : bundledModels()) add(p, tr("bundled"));
  for (const QString& p : recentModels())
    if (QFileInfo::exists(p)) add(p, tr("recent"));
}

}  // namespace prisma::app
