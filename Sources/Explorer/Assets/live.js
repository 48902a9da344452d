// gradlab explorer: the live views (training, phase diagram, your own model).
'use strict';
