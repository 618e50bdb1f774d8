# Embeds migrations/postgres/NNNN_name.sql, the PostgreSQL backend's schema (issue 14), the
# same way cmake/embed_migrations.cmake embeds SQLite's: the generated source defines
# vidq::store::pg::embedded_migrations() (include/vidq/store/postgres/migrations.hpp).
file(GLOB VIDQ_PG_MIGRATION_FILES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/migrations/postgres/[0-9][0-9][0-9][0-9]_*.sql)
list(SORT VIDQ_PG_MIGRATION_FILES)
set(VIDQ_PG_MIGRATIONS_CPP ${CMAKE_BINARY_DIR}/generated/pg_migrations_embedded.cpp)
add_custom_command(
  OUTPUT ${VIDQ_PG_MIGRATIONS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${VIDQ_PG_MIGRATIONS_CPP} "-DFILES=${VIDQ_PG_MIGRATION_FILES}"
          -DNAMESPACE=vidq::store::pg -DHEADER=vidq/store/postgres/migrations.hpp
          -DFROM=migrations/postgres
          -P ${CMAKE_SOURCE_DIR}/cmake/generate_migrations.cmake
  DEPENDS ${VIDQ_PG_MIGRATION_FILES} ${CMAKE_SOURCE_DIR}/cmake/generate_migrations.cmake
  COMMENT "Embedding PostgreSQL migrations"
  VERBATIM)  # keeps the ';'-separated file list one argument
