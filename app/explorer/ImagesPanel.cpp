#include "app/explorer/ImagesPanel.h"

#include "app/explorer/DatasetThumbnailModel.h"

#include "datasets/DatasetRegistry.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QSettings>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kGridCell = 84;
constexpr int kIconSize = 64;
const char* const kSettingsDataset = "images/dataset";
const char* const kSettingsSplit = "images/split";
}  // namespace

ImagesPanel::ImagesPanel(QWidget* parent) : QWidget(parent) {
  datasetBox_ = new QComboBox(this);
  datasetBox_->setObjectName(QStringLiteral("datasetBox"));
  for (const auto& info : datasets::builtinDatasets()) {
    // Sets that need a file the user supplies are opened through a folder instead.
    if (info.name == "dsprites-npz" || info.name == "folder") continue;
    datasetBox_->addItem(QString::fromStdString(info.name));
    datasetBox_->setItemData(datasetBox_->count() - 1, QString::fromStdString(info.description), Qt::ToolTipRole);
  }
  splitBox_ = new QComboBox(this);
  splitBox_->addItems({QStringLiteral("test"), QStringLiteral("train")});
  model_ = new DatasetThumbnailModel(this);
  view_ = new QListView(this);
  view_->setObjectName(QStringLiteral("imageList"));
  view_->setViewMode(QListView::IconMode);
  view_->setResizeMode(QListView::Adjust);
  view_->setUniformItemSizes(true);  // lets the view lay out 60,000 items without asking for them
  view_->setGridSize(QSize(kGridCell, kGridCell));
  view_->setIconSize(QSize(kIconSize, kIconSize));
  view_->setMovement(QListView::Static);
  view_->setDragEnabled(true);
  view_->setModel(model_);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  message_->hide();

  auto* top = new QHBoxLayout;
  top->addWidget(datasetBox_, 1);
  top->addWidget(splitBox_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(message_);
  layout->addWidget(view_, 1);

  QSettings settings;
  datasetBox_->setCurrentText(settings.value(kSettingsDataset, QStringLiteral("induction")).toString());
  splitBox_->setCurrentText(settings.value(kSettingsSplit, QStringLiteral("test")).toString());
  connect(datasetBox_, &QComboBox::currentTextChanged, this, &ImagesPanel::reload);
  connect(splitBox_, &QComboBox::currentTextChanged, this, &ImagesPanel::reload);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this,
          [this](const QModelIndex& index) {
            if (index.isValid()) emit imageChosen(request(index.row()));
          });
  reload();
}

bool ImagesPanel::showDataset(const QString& name, const QString& split) {
  const QSignalBlocker a(datasetBox_), b(splitBox_);
  datasetBox_->setCurrentText(name);
  splitBox_->setCurrentText(split);
  reload();
  return model_->dataset() != nullptr;
}

void ImagesPanel::selectItem(int row) {
  const QModelIndex index = model_->index(row);
  if (!index.isValid()) return;
  if (view_->currentIndex() == index) emit imageChosen(request(row));
  else view_->setCurrentIndex(index);
}

ImageRequest ImagesPanel::request(int row) const {
  ImageRequest r;
  r.pixels = model_->image(row);
  r.title = model_->title(row);
  r.dataset = datasetBox_->currentText();
  r.split = splitBox_->currentText();
  r.row = row;
  return r;
}

void ImagesPanel::reload() {
  QSettings settings;
  settings.setValue(kSettingsDataset, datasetBox_->currentText());
  settings.setValue(kSettingsSplit, splitBox_->currentText());
  const auto split = datasets::splitFromString(splitBox_->currentText().toStdString());
  try {
    std::shared_ptr<const datasets::Dataset> ds = datasets::makeDataset(datasetBox_->currentText().toStdString());
    model_->setDataset(ds, split);
    message_->hide();
  } catch (const std::exception& e) {
    model_->setDataset(nullptr, split);
    message_->setText(QString::fromUtf8(e.what()));
    message_->show();
  }
}

}  // namespace prisma::app
