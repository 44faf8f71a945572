#!/usr/bin/env bash
# The Littlest JupyterHub (TLJH 2.x): the course for every user of one server.
# Run once on the TLJH server, as a user who may sudo, after TLJH's own installer.
# tests/test_classroom.py checks the tljh-config keys and values below against TLJH's schema
# and the limits against the measured walk (course_lib.tools.classroom.resources()).
set -euo pipefail
course=/opt/transfer-course                  # the course, read-only, for the installs below
share=/opt/transfer-course-share             # its caches, shared by every learner
user_env=/opt/tljh/user                      # TLJH's environment for the users' servers

sudo git clone --depth 1 https://github.com/transfer-learning-hands-on/course "$course"

# The course's packages at their tested versions (CPU-only TensorFlow), and nbgitpuller for the links.
sudo "$user_env/bin/python" -m pip install -c "$course/constraints/current.txt" "$course[cpu]" nbgitpuller==1.3.0

# The kernel policy (one chapter's kernel in memory at a time), as binder/postBuild installs it.
config="$user_env/etc/jupyter/jupyter_server_config.py"
sudo mkdir -p "$(dirname "$config")"
sudo grep -qs "course_lib.tools.kernel_policy" "$config" || sudo tee -a "$config" < "$course/binder/jupyter_server_config.py" > /dev/null

# The caches warmed once for everyone (data, source models, chapter 08's weights): every user reads
# them and may add entries, none may change or delete another's (files read-only, folders sticky).
sudo mkdir -p "$share"
sudo env COURSE_CACHE_DIR="$share/cache" KERAS_HOME="$share/keras" "$user_env/bin/python" -m course_lib.tools.warm
sudo env KERAS_HOME="$share/keras" "$user_env/bin/python" -m course_lib.methods.own_images fetch-weights --timeout 60 || true
sudo chmod -R a+rX "$share"
sudo find "$share" -type d -exec chmod a+w,+t {} +
sudo tee /opt/tljh/config/jupyterhub_config.d/transfer-course.py > /dev/null <<PY
c.Spawner.environment.update({"COURSE_CACHE_DIR": "$share/cache", "KERAS_HOME": "$share/keras",
                              "TF_CPP_MIN_LOG_LEVEL": "3"})
PY

# One learner's server: memory and CPU from the measured walk; JupyterLab; stop a server idle an hour.
sudo tljh-config set limits.memory 2048M
sudo tljh-config set limits.cpu 1.0
sudo tljh-config set user_environment.default_app jupyterlab
sudo tljh-config set services.cull.timeout 3600
sudo tljh-config set services.cull.every 300
sudo tljh-config reload

echo "Send learners: python3 make.py classroom-link --hub https://<this server>"
