# Embeds migrations/NNNN_name.sql into the binary so that `vidq migrate` never depends on
# files next to the executable. The generated source defines vidq::store::embedded_migrations().
file(GLOB VIDQ_MIGRATION_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/migrations/[0-9][0-9][0-9][0-9]_*.sql)
list(SORT VIDQ_MIGRATION_FILES)
set(VIDQ_MIGRATIONS_CPP ${CMAKE_BINARY_DIR}/generated/migrations_embedded.cpp)
add_custom_command(
  OUTPUT ${VIDQ_MIGRATIONS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${VIDQ_MIGRATIONS_CPP} "-DFILES=${VIDQ_MIGRATION_FILES}"
          -P ${CMAKE_SOURCE_DIR}/cmake/generate_migrations.cmake
  DEPENDS ${VIDQ_MIGRATION_FILES} ${CMAKE_SOURCE_DIR}/cmake/generate_migrations.cmake
  COMMENT "Embedding SQL migrations"
  VERBATIM)  # keeps the ';'-separated file list one argument (a second migration broke it)
