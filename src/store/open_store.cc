#include "store/meta_store.h"

namespace tml {

Result<std::unique_ptr<MetaStore>> OpenStore(const std::string& spec) {
  if (spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0)
    return OpenPostgresStore(spec);
  if (spec.rfind("sqlite:", 0) == 0) return OpenSqliteStore(spec.substr(7));
  if (spec.find("://") != std::string::npos)
    return Status::Errorf("database '{}': sqlite:PATH or postgresql://USER@HOST:PORT/DB", spec);
  return OpenSqliteStore(spec);
}

}  // namespace tml
