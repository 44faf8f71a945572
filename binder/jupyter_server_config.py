# The course's Jupyter server settings for Binder's 2 GB session.
# binder/postBuild copies this file into the environment's Jupyter config folder
# ({sys.prefix}/etc/jupyter/), where the server repo2docker starts reads it;
# `python3 make.py course` uses it on machines with little memory; the browser walk tests it.
c = get_config()  # noqa: F821 (defined by Jupyter when it loads this file)

# Opening a notebook restarts the other notebooks' kernels that are idle and hold memory
# (course_lib/tools/kernel_policy.py): one chapter's TensorFlow at a time fits in 2 GB,
# two do not. Their tabs stay open; the next cell run there says what happened.
c.ServerApp.kernel_manager_class = "course_lib.tools.kernel_policy.RestartIdleKernelsManager"
