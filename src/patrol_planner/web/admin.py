"""The Django admin for users (with their role and unit), units and stations."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from patrol_planner.web.models import Profile, Station, Unit


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    max_num = 1


class UserWithRole(UserAdmin):
    inlines = [ProfileInline]


admin.site.unregister(User)
admin.site.register(User, UserWithRole)


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("name", "lon", "lat")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("call_sign", "station", "mode", "usual_shift", "sector", "on_duty")
    list_filter = ("mode", "on_duty", "station")
