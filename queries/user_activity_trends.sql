-- How engaged are users day to day? Events and sessions per user.
SELECT event_date, unique_users, unique_sessions, total_events, events_per_user, sessions_per_user
FROM daily_user_activity
ORDER BY event_date
