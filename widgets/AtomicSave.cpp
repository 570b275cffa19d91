#include "widgets/AtomicSave.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImageWriter>
#include <QSaveFile>
#include <QTextStream>

namespace prisma::widgets {

namespace {

bool fail(QSaveFile& file, QString* error, const QString& why) {
  file.cancelWriting();
  if (error) *error = why;
  return false;
}

// Unbuffered, so every write reports what really reached the file.
bool saveBytesAtomically(const QByteArray& bytes, const QString& path, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered)) return fail(file, error, path + ": " + file.errorString());
  if (file.write(bytes) != bytes.size()) return fail(file, error, path + ": write failed (" + file.errorString() + ")");
  if (!file.commit()) {
    if (error) *error = path + ": " + file.errorString();
    return false;
  }
  return true;
}

}  // namespace

bool saveImageAtomically(const QImage& image, const QString& path, QString* error) {
  // Encode in memory first: an image plug-in may not report a failed write to its device,
  // and a short write must not pass for a whole file.
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  QImageWriter writer(&buffer, QFileInfo(path).suffix().toLatin1());
  if (!writer.write(image)) {
    if (error) *error = path + ": " + writer.errorString();
    return false;
  }
  return saveBytesAtomically(bytes, path, error);
}

bool saveTextAtomically(const QString& path, const std::function<void(QTextStream&)>& write, QString* error) {
  QByteArray bytes;
  {
    QTextStream out(&bytes, QIODevice::WriteOnly);
    write(out);
    out.flush();
    if (out.status() != QTextStream::Ok) {
      if (error) *error = path + ": the text could not be formatted";
      return false;
    }
  }
  return saveBytesAtomically(bytes, path, error);
}

}  // namespace prisma::widgets
