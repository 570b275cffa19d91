#pragma once
// The Features tab: a sparse autoencoder's features on the current image.
//
// An SAE (model/sae) rewrites one hook's activation as a sparse sum of learned feature
// directions. The tab opens an SAE for the loaded model (the one bundled with a mouse by
// default, else the last one used with that model, else the user picks one), encodes the
// current image at the SAE's hook, and shows:
// - hovering a patch: the features active there, strongest first, with their density in
//   the feature database; a click pins the patch;
// - clicking a feature: its activation over the image's patches, its density and
//   activation histogram, and its top-activating dataset images with their patch heatmaps
//   (from the database);
// - editing it: the model re-run with the SAE spliced in (error term kept) and the feature
//   scaled (0 ablates it), clean vs edited top-5.
// All model work is a job on the explorer's queue (app/explorer/jobs/FeatureJobs); a new
// model or image drops every result and cancels what is still pending.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/jobs/FeatureJobs.h"

#include <QPoint>
#include <QWidget>

#include <optional>
#include <set>

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTreeWidget;

namespace prisma::widgets {
class HeatmapView;
class TopKBars;
}  // namespace prisma::widgets

namespace prisma::app {

class ExplorerController;

class FeaturesView : public QWidget {
  Q_OBJECT

public:
  explicit FeaturesView(ExplorerController* controller, QWidget* parent = nullptr);
  ~FeaturesView() override;

  // A model was loaded: every result goes, and the SAE for it opens (see the header).
  void setModel(const ModelSummary& model);
  // The image to inspect (kept across model changes, re-encoded with the new model).
  void setImage(const ImageRequest& request);
  // Opens an SAE (folder or file) and a feature database (empty: one found beside it).
  void openSae(const QString& saePath, const QString& databasePath = QString());
  // Used instead of the bundled or remembered SAE on the next setModel (screenshot mode).
  void setSaeOverride(const QString& saePath, const QString& databasePath = QString());
  // The feature selected once an image is encoded, instead of the image's strongest.
  void setInitialFeature(int feature) { initialFeature_ = feature; }

  // A patch under the mouse ((-1, -1): none) and a pinned patch (click; nullopt unpins).
  void hoverPatch(int row, int col);
  void pinPatch(std::optional<QPoint> patch);  // (col, row)
  void selectFeature(int feature);
  // Runs the edit of the selected feature with this scale (0 ablates).
  void setScale(double scale);
  void runEdit();
  // Cancels every job the tab is waiting for (the Cancel button beside the SAE).
  void cancel();

  bool hasSae() const { return haveSae_; }
  const SaeSummary& sae() const { return sae_; }
  const FeatureEncoding& encoding() const { return encoding_; }
  int selectedFeature() const { return selected_; }
  double scale() const;
  // What the list shows now: the features at the hovered (or pinned) patch, or the image's
  // strongest when no patch is under the mouse.
  const QVector<ActiveFeature>& listedFeatures() const { return listed_; }
  std::optional<QPoint> listedPatch() const { return listedPatch_; }  // (col, row)
  const FeatureDetails& details() const { return details_; }
  const FeatureEditResult& editResult() const { return edit_; }
  bool busy() const { return !pending_.empty(); }
  QString placeholderText() const;
  QString message() const;

  widgets::HeatmapView* heatmapView() const { return image_; }
  QTreeWidget* featureList() const { return list_; }
  QListWidget* topImagesList() const { return topImages_; }
  QCustomPlot* histogramPlot() const { return histogram_; }
  widgets::TopKBars* cleanBars() const { return cleanBars_; }
  widgets::TopKBars* editedBars() const { return editedBars_; }
  QPushButton* cancelButton() const { return cancelButton_; }

  // The SAEs opened before, most recent first (QSettings).
  static QStringList recentSaes();

signals:
  void saeOpened(const prisma::app::SaeSummary& summary);
  void imageEncoded();
  void detailsReady();
  void editReady();
  void failed(const QString& message);
  // Nothing is pending and an image is encoded (screenshot mode waits for it).
  void settled();
  void imageDropped(const prisma::app::ImageRequest& request);

protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

private:
  template <class R>
  void post(ModelJob<R, R> job, std::function<void(const R&)> done);
  void finished(quint64 id);
  void fail(quint64 id, const QString& message);
  void cancelPending();
  void resetResults();
  void encode();
  void showList();
  void showFeature();
  void showDetails();
  void showEdit();
  void updatePlaceholder();
  void chooseSae();
  void chooseDatabase();
  void showTrainDialog();
  void rememberSae(const QString& path);
  void setMessage(const QString& text, bool error = false);

  ExplorerController* controller_ = nullptr;
  ModelSummary model_;
  bool haveModel_ = false;
  SaeSummary sae_;
  bool haveSae_ = false;
  QString saeOverride_, databaseOverride_;
  ImageRequest request_;
  bool haveImage_ = false;
  FeatureEncoding encoding_;
  FeatureDetails details_;
  FeatureEditResult edit_;
  int selected_ = -1;
  int initialFeature_ = -1;
  std::optional<QPoint> hovered_, pinned_, listedPatch_;
  QVector<ActiveFeature> listed_;
  std::set<quint64> pending_;
  QString message_;

  QStackedWidget* stack_ = nullptr;
  QLabel* placeholder_ = nullptr;
  QComboBox* saeCombo_ = nullptr;
  QPushButton* openButton_ = nullptr;
  QPushButton* databaseButton_ = nullptr;
  QPushButton* trainButton_ = nullptr;
  QLabel* saeLabel_ = nullptr;
  QProgressBar* busyBar_ = nullptr;
  QPushButton* cancelButton_ = nullptr;
  QLabel* messageLabel_ = nullptr;
  widgets::HeatmapView* image_ = nullptr;
  QLabel* listTitle_ = nullptr;
  QTreeWidget* list_ = nullptr;
  QLabel* featureTitle_ = nullptr;
  QCustomPlot* histogram_ = nullptr;
  QListWidget* topImages_ = nullptr;
  QLabel* topNote_ = nullptr;
  QDoubleSpinBox* scale_ = nullptr;
  QPushButton* ablateButton_ = nullptr;
  QPushButton* applyButton_ = nullptr;
  widgets::TopKBars* cleanBars_ = nullptr;
  widgets::TopKBars* editedBars_ = nullptr;
  QLabel* editNote_ = nullptr;
};

}  // namespace prisma::app
