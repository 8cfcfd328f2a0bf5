/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/geofence_load.h - geofence zones from GeoJSON files. Part of
 * libfs-loaders; the zones themselves are fs/geofence.h in sim/.
 */
#ifndef FS_GEOFENCE_LOAD_H
#define FS_GEOFENCE_LOAD_H

#include "fs/error.h"
#include "fs/geofence.h"

/**
 * Add every Polygon/MultiPolygon of the GeoJSON file @path as a zone. The id
 * is the feature's "id" or its property "id", "location_id", "LocationID" or
 * "OBJECTID" (an integer or a numeric string), else the zone's index; the
 * name is property "name" or "zone". All or nothing: on error no zone is
 * added and @err reads "path:line:column: what is wrong". Returns the number
 * of zones added, -EINVAL (bad content), -ENOENT/-EIO (cannot read), -ENOMEM.
 */
int fs_geofence_load_geojson(struct fs_geofence *g, const char *path, struct fs_error *err);

#endif
