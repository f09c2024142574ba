"""The dashboards (NiceGUI): the client's at ``/``, the admin's at ``/admin``.

The UI is a client of the services' public APIs, like any other: it holds
each user's tokens server side (:mod:`avd.ui.session`), calls the Client,
Market and Trade services over HTTP (:mod:`avd.ui.api`) and follows their
WebSocket streams for live updates (:mod:`avd.ui.live`). So the same pages
run inside ``avd run`` (the services on the same port) and alone with
``avd serve ui`` (the services anywhere).
"""
